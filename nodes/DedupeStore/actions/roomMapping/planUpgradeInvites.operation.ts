import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LEASE_SECONDS, planUpgradeInvites, type Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';

const ops = ['planUpgradeInvites'];

export const description: INodeProperties[] = [
	{
		displayName: 'Room ID',
		name: 'upgradedRoom',
		type: 'string',
		// Follow Room Upgrade's output names the replacement room.
		default: '={{ $json.newRoom }}',
		required: true,
		placeholder: '!def456:example.org',
		description: 'The replacement room of an upgrade (after Follow Room Upgrade moved the grants there)',
		displayOptions: show('roomMapping', ops),
	},
	{
		displayName: 'Options',
		name: 'upgradeOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('roomMapping', ops),
		options: [
			{
				displayName: 'Lease (Seconds)',
				name: 'leaseSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_LEASE_SECONDS,
				description: 'If the workflow dies before Record, a batch may invite these people after this long',
			},
			{
				displayName: 'Plan Field',
				name: 'planField',
				type: 'string',
				default: 'plan',
				description: 'Field of the output item that receives the invite step (for Matrix Invite and Ticket → Record)',
			},
		],
	},
];

/**
 * One item per person who had access in the old room (a live ticket grant, now owed in the new
 * room), with an invite step for Matrix Invite and Ticket → Record. Nobody twice: the grants are
 * claimed first, so a second run (or a batch) finds them taken.
 */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const options = this.getNodeParameter('upgradeOptions', 0, {}) as IDataObject;
	const planField = String(options.planField ?? '').trim() || 'plan';
	return perItem(this, items, async (i) => {
		const plan = await planUpgradeInvites(ledger, {
			room: this.getNodeParameter('upgradedRoom', i),
			leaseSeconds: Number(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS),
		});
		return plan.steps.map((step) => ({
			json: { ...items[i].json, [planField]: step as unknown as IDataObject },
			pairedItem: { item: i },
		}));
	});
}

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LEASE_SECONDS, redeemInviteCode, type Ledger } from '../../../../lib/store';
import { errorItem, show, toNodeError } from '../common';
import { field, infoJson } from './fields';

const ops = ['redeem'];

export const description: INodeProperties[] = [
	field(ops, 'Code', 'code', '', 'The invite code someone sent (case, spaces and dashes do not matter)', true),
	field(ops, 'Matrix ID', 'userId', '={{ $json.sender }}', 'Who redeems it (the sender of the command)', true),
	{
		displayName: 'Lease (Seconds)',
		name: 'leaseSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_LEASE_SECONDS,
		description: 'If the workflow dies before Ticket → Record, the planned invites may be taken up by a later redemption after this long',
		displayOptions: show('inviteCode', ops),
	},
];

/**
 * Outputs: Invite (one item per room to invite, `plan` as Ticket → Plan gives it), Unchanged (rooms
 * already invited or failed before), Refused (unknown, expired, revoked or used-up codes: one item,
 * `redeem.status`). Every item carries `redeem` ({status, rooms, …}, never the code).
 */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = [[], [], []];
	const lease = Number(this.getNodeParameter('leaseSeconds', 0, DEFAULT_LEASE_SECONDS));
	for (let i = 0; i < items.length; i++) {
		try {
			const result = await redeemInviteCode(ledger, { code: this.getNodeParameter('code', i, ''), userId: this.getNodeParameter('userId', i, ''), leaseSeconds: lease });
			const redeem: IDataObject = { status: result.status, ...(result.code ? { code: infoJson(result.code) } : {}) };
			if (result.steps.length === 0) {
				outputs[2].push({ json: { ...items[i].json, redeem }, pairedItem: { item: i } });
				continue;
			}
			for (const step of result.steps) outputs[step.action === 'invite' ? 0 : 1].push({ json: { ...items[i].json, redeem, plan: step as unknown as IDataObject }, pairedItem: { item: i } });
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this, error, i);
			outputs[2].push(errorItem(this, error, i));
		}
	}
	return outputs;
}

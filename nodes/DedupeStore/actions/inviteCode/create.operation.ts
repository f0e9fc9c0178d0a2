import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { createInviteCode, type Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';
import { field, infoJson, listOf } from './fields';

const ops = ['create'];

export const description: INodeProperties[] = [
	field(ops, 'Event', 'event', '={{ $json.event }}', 'Ledger event key (organizer/event): the code is deleted with the event\'s purge', true),
	field(ops, 'Rooms', 'rooms', '', 'Rooms the code grants: room IDs or aliases, separated by commas (an expression may return an array)', true),
	{
		displayName: 'Uses Allowed',
		name: 'usesAllowed',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'How many people may redeem it; 0: unlimited (each person counts once)',
		displayOptions: show('inviteCode', ops),
	},
	{
		displayName: 'Expires in Days',
		name: 'expiresInDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Days until the code stops working; 0: it works until revoked or purged with the event',
		displayOptions: show('inviteCode', ops),
	},
];

/** The code appears only here (`inviteCode.code`): the ledger keeps its keyed hash, never the code. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const uses = Number(this.getNodeParameter('usesAllowed', i, 0));
		const days = Number(this.getNodeParameter('expiresInDays', i, 0));
		const { code, info } = await createInviteCode(ledger, {
			event: this.getNodeParameter('event', i, ''),
			rooms: listOf(this.getNodeParameter('rooms', i, '')),
			usesAllowed: uses > 0 ? uses : null,
			expiresAt: days > 0 ? ledger.time() + Math.round(days * 86_400_000) : null,
		});
		return [{ json: { ...items[i].json, inviteCode: { code, ...infoJson(info) } }, pairedItem: { item: i } }];
	});
}

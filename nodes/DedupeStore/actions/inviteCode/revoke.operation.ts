import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { revokeInviteCode, type Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';
import { field, infoJson, listOf } from './fields';

const ops = ['revoke'];

export const description: INodeProperties[] = [
	field(ops, 'Code or ID', 'code', '', 'The invite code, or its ID from List (at least 6 characters)', true),
	field(ops, 'Events', 'events', '', 'Only codes of these events may be revoked (a room moderator\'s events); separated by commas'),
	{
		displayName: 'Any Event',
		name: 'anyEvent',
		type: 'boolean',
		default: false,
		description: 'Whether the code itself may belong to any event (bot admins); an ID is still looked up among the events given',
		displayOptions: show('inviteCode', ops),
	},
];

/** `inviteCode.revoked` true with the code's info, or false when nothing matched. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const events = listOf(this.getNodeParameter('events', i, ''));
		const any = this.getNodeParameter('anyEvent', i, false) === true;
		const info = await revokeInviteCode(ledger, this.getNodeParameter('code', i, ''), any ? null : events, events);
		return [{ json: { ...items[i].json, inviteCode: info ? { revoked: true, ...infoJson(info) } : { revoked: false } }, pairedItem: { item: i } }];
	});
}

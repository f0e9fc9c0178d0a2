import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { inspectInviteCode, type Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { field, infoJson } from './fields';

const ops = ['get'];

export const description: INodeProperties[] = [field(ops, 'Code', 'code', '', 'The invite code (case, spaces and dashes do not matter)', true)];

/** What a code grants and how it stands, without redeeming it: `inviteCode.found` false for an unknown code. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const info = await inspectInviteCode(ledger, this.getNodeParameter('code', i, ''));
		return [{ json: { ...items[i].json, inviteCode: info ? { found: true, ...infoJson(info) } : { found: false } }, pairedItem: { item: i } }];
	});
}

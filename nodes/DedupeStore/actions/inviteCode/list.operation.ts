import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { listInviteCodes, type Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { field, infoJson, listOf } from './fields';

const ops = ['list'];

export const description: INodeProperties[] = [field(ops, 'Events', 'events', '', 'Ledger event keys whose codes to list, separated by commas (an expression may return an array)', true)];

/** One item per code of the events (newest first), without the code itself (it is not stored). */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const codes = await listInviteCodes(ledger, listOf(this.getNodeParameter('events', i, '')));
		return codes.map((info) => ({ json: infoJson(info), pairedItem: { item: i } }));
	});
}

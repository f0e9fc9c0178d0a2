import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { eventProperty, perItem } from '../common';
import { cursorNameProperty } from './cursor';

export const description: INodeProperties[] = [
	eventProperty('event', ['getCursor'], ''),
	cursorNameProperty(['getCursor']),
];

/** The stored cursor (e.g. pretix' X-Page-Generated for modified_since), or null on the first run. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const cursor = await ledger.getCursor(
			this.getNodeParameter('event', i),
			this.getNodeParameter('cursorName', i, 'default'),
		);
		return [{ json: { ...items[i].json, cursor }, pairedItem: { item: i } }];
	});
}

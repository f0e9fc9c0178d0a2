import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { eventProperty, perItem, show } from '../common';
import { cursorNameProperty } from './cursor';

export const description: INodeProperties[] = [
	eventProperty('event', ['setCursor'], ''),
	cursorNameProperty(['setCursor']),
	{
		displayName: 'Value',
		name: 'cursorValue',
		type: 'string',
		default: '',
		required: true,
		description:
			'The cursor to store (text), e.g. the X-Page-Generated time of the first page of the last sync',
		displayOptions: show('event', ['setCursor']),
	},
];

export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const value = this.getNodeParameter('cursorValue', i);
		await ledger.setCursor(
			this.getNodeParameter('event', i),
			this.getNodeParameter('cursorName', i, 'default'),
			value,
		);
		return [{ json: { ...items[i].json, cursor: value as string }, pairedItem: { item: i } }];
	});
}

import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { filterProperties, mappingEventProperty, roomProperty } from './fields';

export const description: INodeProperties[] = [
	mappingEventProperty(['set'], true),
	roomProperty(['set'], true),
	...filterProperties(['set'], false),
];

export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const { created, mapping } = await ledger.setMapping({
			event: this.getNodeParameter('event', i),
			room: this.getNodeParameter('room', i),
			item: this.getNodeParameter('item', i, ''),
			variation: this.getNodeParameter('variation', i, ''),
		});
		return [{ json: { ...mapping, created }, pairedItem: { item: i } }];
	});
}

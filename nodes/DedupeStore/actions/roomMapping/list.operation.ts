import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { mappingEventProperty, roomProperty } from './fields';

export const description: INodeProperties[] = [
	mappingEventProperty(['list'], false),
	roomProperty(['list'], false),
];

/** One item per mapping (filtered by event and/or room). */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const mappings = await ledger.listMappings({
			event: this.getNodeParameter('event', i, ''),
			room: this.getNodeParameter('room', i, ''),
		});
		return mappings.map((mapping) => ({ json: { ...mapping }, pairedItem: { item: i } }));
	});
}

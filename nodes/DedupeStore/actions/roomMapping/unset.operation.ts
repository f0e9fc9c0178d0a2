import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { mappingEventProperty, roomProperty } from './fields';

export const description: INodeProperties[] = [
	mappingEventProperty(['unset'], false),
	roomProperty(['unset'], false),
];

/** Event and room: that pair's mappings; only a room: all of the room's; only an event: all of the event's. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const removed = await ledger.unsetMappings({
			event: this.getNodeParameter('event', i, ''),
			room: this.getNodeParameter('room', i, ''),
		});
		return [{ json: { removed }, pairedItem: { item: i } }];
	});
}

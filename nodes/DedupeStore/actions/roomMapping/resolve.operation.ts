import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';
import { filterProperties, mappingEventProperty } from './fields';

export const description: INodeProperties[] = [
	{ ...mappingEventProperty(['resolve'], true), default: '={{ $json.event }}' },
	...filterProperties(['resolve'], true),
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		options: [
			{ name: 'Rooms as a List', value: 'list', description: 'The item gets a "rooms" list' },
			{
				name: 'One Item per Room',
				value: 'split',
				description:
					'The item is repeated once per room with a "room" field; attendees without a room are dropped',
			},
		],
		default: 'list',
		displayOptions: show('roomMapping', ['resolve']),
	},
];

/** The rooms an attendee belongs in; a filtered mapping only matches its item/variation, with no fallback. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const resolve = await ledger.roomResolver();
	return perItem(this, items, async (i) => {
		const rooms = await resolve({
			event: this.getNodeParameter('event', i),
			item: this.getNodeParameter('item', i, ''),
			variation: this.getNodeParameter('variation', i, ''),
			subevent: this.getNodeParameter('subevent', i, ''),
			addonTo: this.getNodeParameter('addonTo', i, ''),
		});
		if (this.getNodeParameter('output', i, 'list') === 'split') {
			return rooms.map((room) => ({ json: { ...items[i].json, room }, pairedItem: { item: i } }));
		}
		return [{ json: { ...items[i].json, rooms }, pairedItem: { item: i } }];
	});
}

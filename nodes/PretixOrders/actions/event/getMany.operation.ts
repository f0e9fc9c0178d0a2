import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { PretixClient } from '../../../../lib/pretix';
import { organizerLocator, resolveOrganizer } from '../common';

const show = { resource: ['event'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	organizerLocator(show),
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		displayOptions: { show },
		default: true,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		displayOptions: { show: { ...show, returnAll: [false] } },
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
	},
];

export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const organizer = await resolveOrganizer(client, this.getNodeParameter('organizer', itemIndex, ''));
	const returnAll = this.getNodeParameter('returnAll', itemIndex, true) as boolean;
	let events = await client.events(organizer);
	if (!returnAll) events = events.slice(0, Math.max(1, Number(this.getNodeParameter('limit', itemIndex, 50))));
	return events.map((event) => ({ json: { organizer, ...(event as IDataObject) }, pairedItem: { item: itemIndex } }));
}

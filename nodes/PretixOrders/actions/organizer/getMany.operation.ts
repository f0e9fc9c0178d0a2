import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { PretixClient } from '../../../../lib/pretix';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const organizers = await client.organizers();
	return organizers.map((organizer) => ({ json: { ...(organizer as unknown as IDataObject) }, pairedItem: { item: itemIndex } }));
}

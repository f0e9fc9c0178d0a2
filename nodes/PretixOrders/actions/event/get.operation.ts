import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { eventEndsAt, type PretixClient } from '../../../../lib/pretix';
import { eventSelection, readEventRef } from '../common';

export const description: INodeProperties[] = [...eventSelection('event', ['get'])];

export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const ref = await readEventRef(this, client, itemIndex);
	const event = await client.event(ref.organizer, ref.event);
	const json: IDataObject = { organizer: ref.organizer, ...(event as IDataObject) };
	if (ref.subevent !== undefined) json.subevent = ref.subevent;
	// When the event (a series: its last date; a date of a series: that date) is over, for the purge.
	json.endsAt = await eventEndsAt(client, ref.organizer, event, ref.subevent);
	return [{ json, pairedItem: { item: itemIndex } }];
}

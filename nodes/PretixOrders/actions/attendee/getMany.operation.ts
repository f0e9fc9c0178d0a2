import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { cursorKey, fetchAttendees, isValidCursor, type OrderCursor, type PretixClient } from '../../../../lib/pretix';
import { attendeeJson, attendeeOptionsProperty, eventSelection, readAttendeeOptions, readEventRef } from '../common';

const show = { resource: ['attendee'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	...eventSelection('attendee', ['getMany']),
	{
		displayName: 'Only Changed Since Last Run',
		name: 'incremental',
		type: 'boolean',
		displayOptions: { show },
		default: false,
		description:
			'Whether to return only attendees whose order changed since the previous production run of this workflow (uses pretix\'s modified_since; the position is remembered per event)',
	},
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
	{
		displayName: 'Safety Margin (Minutes)',
		name: 'safetyMarginMinutes',
		type: 'number',
		displayOptions: { show: { ...show, incremental: [true] } },
		typeOptions: { minValue: 0, maxValue: 1440 },
		default: 5,
		description: 'How far before the last run\'s pretix timestamp to look again, for orders committed while it ran. Orders inside it come again; the ledger makes that harmless.',
	},
	attendeeOptionsProperty('attendee', ['getMany']),
];

/** Bound on remembered events per node, so static data cannot grow without limit. */
const MAX_CURSORS = 200;

export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const ref = await readEventRef(this, client, itemIndex);
	const options = readAttendeeOptions(this, itemIndex);
	const returnAll = this.getNodeParameter('returnAll', itemIndex, true) as boolean;
	const limit = returnAll ? undefined : Math.max(1, Number(this.getNodeParameter('limit', itemIndex, 50)));
	const incremental = this.getNodeParameter('incremental', itemIndex, false) as boolean;
	if (!incremental) {
		const result = await fetchAttendees(client, { ...options, ...ref, limit });
		return result.attendees.map((attendee) => ({ json: attendeeJson(attendee), pairedItem: { item: itemIndex } }));
	}
	const marginMs = Math.max(0, Number(this.getNodeParameter('safetyMarginMinutes', itemIndex, 5))) * 60_000;
	const staticData = this.getWorkflowStaticData('node');
	const cursors = (staticData.pretixCursors && typeof staticData.pretixCursors === 'object' ? staticData.pretixCursors : {}) as IDataObject;
	const subevent = ref.subevent ?? options.subevent;
	const key = `${cursorKey(client.instanceUrl, ref.organizer, ref.event)}|${subevent ?? ''}|${options.questionIdentifier}|${(options.statuses ?? []).join('')}|${(options.itemIds ?? []).join(',')}|${(options.variationIds ?? []).join(',')}`;
	const stored = cursors[key];
	const cursor = isValidCursor(stored) ? (stored as unknown as OrderCursor) : undefined;
	const result = await fetchAttendees(client, { ...options, ...ref, limit, incremental: { cursor, marginMs } });
	if (result.cursor) {
		delete cursors[key];
		cursors[key] = result.cursor as unknown as IDataObject;
		const keys = Object.keys(cursors);
		for (const old of keys.slice(0, Math.max(0, keys.length - MAX_CURSORS))) delete cursors[old];
		staticData.pretixCursors = cursors;
	}
	return result.attendees.map((attendee) => ({ json: attendeeJson(attendee), pairedItem: { item: itemIndex } }));
}

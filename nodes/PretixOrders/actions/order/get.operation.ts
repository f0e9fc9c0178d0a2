import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { errorForStatus, extractAttendees, fetchOrderAttendees, type PretixClient } from '../../../../lib/pretix';
import { safeEqual } from '../../../PretixTrigger/actions/caller-auth';
import { attendeeJson, attendeeOptionsProperty, eventSelection, readAttendeeOptions, readEventRef } from '../common';

export const description: INodeProperties[] = [
	...eventSelection('order', ['get']),
	{
		displayName: 'Order Code',
		name: 'code',
		type: 'string',
		displayOptions: { show: { resource: ['order'], operation: ['get'] } },
		default: '',
		required: true,
		placeholder: 'ABC12',
	},
	{
		displayName: 'Order Secret',
		name: 'orderSecret',
		type: 'string',
		typeOptions: { password: true },
		displayOptions: { show: { resource: ['order'], operation: ['get'] } },
		default: '',
		description:
			'Only return the order when this is its secret (the last part of the order link in the confirmation e-mail), compared in constant time. A wrong secret gets exactly the answer of an unknown order code (404). Empty: no check.',
	},
	attendeeOptionsProperty('order', ['get']),
];

/** The order's active attendees, as "Attendee: Get Many" returns them (none for canceled orders). */
export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const ref = await readEventRef(this, client, itemIndex);
	const options = readAttendeeOptions(this, itemIndex);
	const code = String(this.getNodeParameter('code', itemIndex, '') ?? '');
	const secret = String(this.getNodeParameter('orderSecret', itemIndex, '') ?? '');
	if (secret === '') {
		const result = await fetchOrderAttendees(client, ref.organizer, ref.event, code, options);
		return result.attendees.map((attendee) => ({ json: attendeeJson(attendee), pairedItem: { item: itemIndex } }));
	}
	// Someone proves they hold the order (a seat claim): the same 404 for a wrong secret as for an
	// unknown code, so the answer tells a guesser nothing about which codes exist.
	const order = await client.order(ref.organizer, ref.event, code);
	if (typeof order.secret !== 'string' || !safeEqual(order.secret, secret)) throw errorForStatus(404, { detail: 'Not found.' }, { organizer: ref.organizer, event: ref.event, action: 'read the order' });
	return extractAttendees(order, ref, options).attendees.map((attendee) => ({ json: attendeeJson(attendee), pairedItem: { item: itemIndex } }));
}

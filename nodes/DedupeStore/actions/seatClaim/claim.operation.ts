import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { claimSeats, type Ledger, type SeatInput } from '../../../../lib/store';
import { show, toNodeError } from '../common';

const ops = ['claim'];

function field(displayName: string, name: string, value: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', default: value, description, displayOptions: show('seatClaim', ops) };
}

export const description: INodeProperties[] = [
	field('Matrix ID', 'userId', '', 'The account that claims a seat: the sender of the command (never a typed ID)'),
	field('Event', 'event', '={{ $json.organizer }}/{{ $json.event }}', 'Ledger event key: organizer/event'),
	field('Ticket', 'ticket', '={{ $json.positionId }}', 'The pretix position ID (one seat)'),
	field('Order Code', 'orderCode', '={{ $json.orderCode }}', 'The order the seats belong to (one claim per order and account)'),
	field('Access', 'access', '={{ $json.access }}', 'granted, pending or revoked (set by the Pretix nodes)'),
	field('Add-On Of', 'addonTo', '={{ $json.addonTo }}', 'The parent position of an add-on (it goes with its parent)'),
	field('Answered', 'answered', '={{ !!$json.matrixId }}', 'Whether pretix has a Matrix ID answer for the seat (such seats are taken last)'),
	{
		displayName: 'Move a Taken Seat',
		name: 'moveSeat',
		type: 'boolean',
		default: false,
		description: 'Whether a seat held by another account moves to the claimant (that account\'s invite is withdrawn); otherwise the claim is refused',
		displayOptions: show('seatClaim', ops),
	},
];

/**
 * The input items are the tickets of orders the sender proved they hold (Pretix Orders → Get with
 * the order secret). Per order the sender gets one seat (and its add-ons): those items leave on
 * Claimed, the rest on Refused; every item gets `seat.status` (claimed, alreadyYours, moved,
 * takenByOther, noAccess, pending, notChosen).
 */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = [[], []];
	if (items.length === 0) return outputs;
	const moveSeat = this.getNodeParameter('moveSeat', 0, false) === true;
	const byOrder = new Map<string, Array<{ index: number; input: SeatInput; userId: unknown }>>();
	for (let i = 0; i < items.length; i++) {
		const param = (name: string) => this.getNodeParameter(name, i, '');
		const input: SeatInput = { event: param('event'), ticket: param('ticket'), orderCode: param('orderCode'), access: param('access'), addonTo: param('addonTo'), answered: param('answered') === true || param('answered') === 'true' };
		const key = `${String(input.event)}\u0000${String(input.orderCode)}\u0000${String(param('userId'))}`;
		byOrder.set(key, [...(byOrder.get(key) ?? []), { index: i, input, userId: param('userId') }]);
	}
	for (const group of byOrder.values()) {
		let results;
		try {
			results = await claimSeats(ledger, group.map((g) => g.input), group[0].userId, { moveSeat });
		} catch (error) {
			const at = (error as { index?: number }).index;
			throw toNodeError(this, error, at === undefined ? group[0].index : group[at]?.index);
		}
		group.forEach(({ index }, n) => {
			const status = results[n].status;
			const claimed = status === 'claimed' || status === 'alreadyYours' || status === 'moved';
			outputs[claimed ? 0 : 1].push({ json: { ...items[index].json, seat: { status } as IDataObject }, pairedItem: { item: index } });
		});
	}
	return outputs;
}

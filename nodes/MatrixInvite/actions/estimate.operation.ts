import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { itemParameter } from '../../../lib/item-expressions';
import { inviteFloor } from '../../../lib/matrix/pacer';
import { roomList, userIdOf } from './common';

const show = { show: { operation: ['estimate'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Rooms',
		name: 'rooms',
		type: 'string',
		default: '={{ $json.plan?.room ?? $json.room }}',
		description: 'Room(s) of each item, as Invite would get them',
		displayOptions: show,
	},
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		default: '={{ $json.plan?.userId ?? $json.matrixId }}',
		description: 'Person of each item, as Invite would get them',
		displayOptions: show,
	},
	{
		displayName: 'Options',
		name: 'estimateOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Bot Rate Limits Lifted',
				name: 'lifted',
				type: 'boolean',
				default: false,
				description: 'Whether Invite will lift the bot\'s limits (Synapse admin); the estimate is then near zero',
			},
			{
				displayName: 'Notices Meanwhile',
				name: 'notices',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Messages the bot posts during the run (replies, progress): they share the homeserver\'s message limit',
			},
		],
	},
];

/**
 * How long inviting these items takes at the homeserver's pace — Synapse's default limits, the
 * binding one named — as one item, for an ETA before a big batch. Makes no request.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const options = this.getNodeParameter('estimateOptions', 0, {}) as IDataObject;
	const perRoom = new Map<string, number>();
	const perPerson = new Map<string, number>();
	let invites = 0;
	items.forEach((_item, i) => {
		const user = userIdOf(itemParameter(this, 'userId', i, ''));
		for (const room of roomList(itemParameter(this, 'rooms', i, ''))) {
			invites++;
			perRoom.set(room, (perRoom.get(room) ?? 0) + 1);
			perPerson.set(user, (perPerson.get(user) ?? 0) + 1);
		}
	});
	const lifted = options.lifted === true;
	const floor = inviteFloor({
		invites,
		rooms: [...perRoom.values()],
		perPerson: Math.max(1, ...perPerson.values()),
		notices: Math.max(0, Number(options.notices ?? 0) || 0),
		lifted,
	});
	const seconds = Math.ceil(floor.seconds);
	return [
		{
			json: { invites, rooms: perRoom.size, people: perPerson.size, seconds, minutes: Math.ceil(seconds / 60), limitedBy: floor.limiter, lifted },
			pairedItem: items.map((_item, i) => ({ item: i })),
		},
	];
}

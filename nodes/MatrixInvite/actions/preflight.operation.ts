import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { MatrixClient } from '../../../lib/matrix/client';
import {
	preflightEta,
	preflightLine,
	preflightRoom,
	type PreflightVerdict,
} from '../../../lib/matrix/preflight';
import { whoAmI, type RoomProblem } from '../../../lib/matrix/rooms';
import { optionNumber, retryDeadline, roomList, runError, timeBudgetOption } from './common';

const show = { show: { operation: ['preflight'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Rooms',
		name: 'rooms',
		type: 'string',
		default: '',
		placeholder: '#attendees:example.org, !AbCdEf:example.org',
		description:
			'Rooms to check: IDs, aliases or room links, separated by commas or an array from an expression. An empty list outputs nothing.',
		displayOptions: show,
	},
	{
		displayName: 'Options',
		name: 'preflightOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Attendees',
				name: 'attendees',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					"People to invite into each room: every output item then gets an \"eta\" — how long the invites take at Synapse's default limits. 0: no estimate.",
			},
			timeBudgetOption(60),
		],
	},
];

/**
 * One item per room: can the bot invite and withdraw there (lib/matrix/preflight.ts), with a
 * readable `text` line. Reads state only — no invite, no message, no state change.
 */
export async function execute(
	this: IExecuteFunctions,
	client: MatrixClient,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const cache = new Map<string, { roomId?: string; problem?: RoomProblem }>();
	let bot: string | undefined;
	for (let i = 0; i < items.length; i++) {
		try {
			const options = this.getNodeParameter('preflightOptions', i, {}) as IDataObject;
			const retry = retryDeadline(options, 60);
			const rooms = roomList(this.getNodeParameter('rooms', i, ''));
			if (rooms.length) bot ??= await whoAmI(client, retry);
			const verdicts: PreflightVerdict[] = [];
			for (const room of rooms) verdicts.push(await preflightRoom(client, room, bot!, retry, cache));
			const attendees = optionNumber(options, 'attendees', 0, 0, 10_000_000);
			const eta = attendees > 0 ? preflightEta(verdicts, attendees) : undefined;
			for (const verdict of verdicts) {
				out.push({
					json: { ...verdict, text: preflightLine(verdict), ...(eta ? { eta } : {}) } as unknown as IDataObject,
					pairedItem: { item: i },
				});
			}
		} catch (error) {
			// Only a rejected token (or a misconfiguration) lands here: every room would fail alike.
			const nodeError = runError(this, error);
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	return out;
}

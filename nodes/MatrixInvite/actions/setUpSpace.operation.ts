import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { MatrixClient } from '../../../lib/matrix/client';
import { whoAmI } from '../../../lib/matrix/rooms';
import { setUpSpace, spaceSetupLines } from '../../../lib/matrix/spaces';
import { retryDeadline, roomList, runError, timeBudgetOption, userIdOf } from './common';

const show = { show: { resource: ['room'], operation: ['setUpSpace'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Space',
		name: 'space',
		type: 'string',
		default: '',
		required: true,
		placeholder: '#summit:example.org',
		description: 'The space: its ID, alias or a room link',
		displayOptions: show,
	},
	{
		displayName: 'Child Rooms',
		name: 'childRooms',
		type: 'string',
		default: '',
		placeholder: '#talks:example.org, #hallway:example.org',
		description:
			'Rooms to make children of the space: IDs, aliases or room links, separated by commas or spaces, or an array from an expression',
		displayOptions: show,
	},
	{
		displayName: 'Options',
		name: 'spaceOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'On Behalf Of',
				name: 'onBehalfOf',
				type: 'string',
				default: '',
				placeholder: '@organizer:example.org',
				description:
					"Who asked (e.g. the command's sender): a room is changed only where this user could make the change themselves. Empty: no such check (a bot admin).",
			},
			{
				displayName: 'Restrict Child Rooms',
				name: 'restrict',
				type: 'boolean',
				default: true,
				description:
					"Whether to switch each child room's join rule to restricted to the space (where the bot has the power), so members of the space join without another invite",
			},
			timeBudgetOption(60),
		],
	},
];

/**
 * One item per input: what the set-up changed in the space and its child rooms (lib/matrix/spaces.ts),
 * per room and as readable `lines`/`text`. Rooms where the bot lacks the power are reported, never changed.
 */
export async function execute(
	this: IExecuteFunctions,
	client: MatrixClient,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	let bot: string | undefined;
	for (let i = 0; i < items.length; i++) {
		try {
			const options = this.getNodeParameter('spaceOptions', i, {}) as IDataObject;
			const retry = retryDeadline(options, 60);
			bot ??= await whoAmI(client, retry);
			const onBehalfOf = userIdOf(options.onBehalfOf);
			const setup = await setUpSpace(client, userIdOf(this.getNodeParameter('space', i, '')), roomList(this.getNodeParameter('childRooms', i, '')), {
				botUserId: bot,
				onBehalfOf: onBehalfOf || undefined,
				restrict: options.restrict !== false,
				retry,
			});
			const lines = spaceSetupLines(setup);
			out.push({ json: { ...setup, lines, text: lines.join('\n') } as unknown as IDataObject, pairedItem: { item: i } });
		} catch (error) {
			const nodeError = runError(this, error);
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	return out;
}

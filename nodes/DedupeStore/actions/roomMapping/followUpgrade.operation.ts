import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { countUpgradeOwed, type Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';

export const description: INodeProperties[] = [
	{
		displayName: 'Old Room ID',
		name: 'oldRoom',
		type: 'string',
		default: '={{ $json.roomId }}',
		required: true,
		placeholder: '!abc123:example.org',
		// The defaults read the item Matrix Command Trigger emits for a tombstone (kind roomUpgrade).
		description: 'The upgraded room (the room whose m.room.tombstone names the replacement)',
		displayOptions: show('roomMapping', ['followUpgrade']),
	},
	{
		displayName: 'New Room ID',
		name: 'newRoom',
		type: 'string',
		default: '={{ $json.replacementRoom }}',
		required: true,
		placeholder: '!def456:example.org',
		description: 'The replacement room: its mappings and invites are taken over from the old room',
		displayOptions: show('roomMapping', ['followUpgrade']),
	},
];

/**
 * One item per upgrade: how many mappings and ledger rows now belong to the new room, and how many
 * people had access in the old room and are owed an invite there (Plan Upgrade Invites makes them).
 */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const moved = await ledger.moveRoom({
			oldRoom: this.getNodeParameter('oldRoom', i),
			newRoom: this.getNodeParameter('newRoom', i),
		});
		return [
			{
				json: {
					oldRoom: moved.oldRoom,
					newRoom: moved.newRoom,
					mappingsMoved: moved.mappings,
					rowsMoved: moved.rows,
					peopleToInvite: await countUpgradeOwed(ledger, moved.newRoom),
				},
				pairedItem: { item: i },
			},
		];
	});
}

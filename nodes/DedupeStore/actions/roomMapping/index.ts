import type { INodeProperties } from 'n8n-workflow';

import * as followUpgrade from './followUpgrade.operation';
import * as list from './list.operation';
import * as planUpgradeInvites from './planUpgradeInvites.operation';
import * as resolve from './resolve.operation';
import * as set from './set.operation';
import * as unset from './unset.operation';

export { followUpgrade, list, planUpgradeInvites, resolve, set, unset };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['roomMapping'] } },
		options: [
			{
				name: 'Follow Room Upgrade',
				value: 'followUpgrade',
				action: 'Follow a room upgrade',
				description: "Move an upgraded room's mappings and invites to its replacement room",
			},
			{
				name: 'List',
				value: 'list',
				action: 'List room mappings',
				description: 'List mappings by event or by room',
			},
			{
				name: 'Plan Upgrade Invites',
				value: 'planUpgradeInvites',
				action: 'Plan invites into an upgraded room',
				description: 'After Follow Room Upgrade: one invite step per person who had access in the old room, each once',
			},
			{
				name: 'Resolve',
				value: 'resolve',
				action: 'Resolve rooms for an attendee',
				description: "The rooms an attendee belongs in, by the attendee's item and variation",
			},
			{
				name: 'Set',
				value: 'set',
				action: 'Set a room mapping',
				description: 'Map an event (optionally one item/variation) to a room',
			},
			{
				name: 'Unset',
				value: 'unset',
				action: 'Unset room mappings',
				description: 'Remove mappings of an event, of a room, or both',
			},
		],
		default: 'resolve',
	},
	...set.description,
	...unset.description,
	...list.description,
	...resolve.description,
	...followUpgrade.description,
	...planUpgradeInvites.description,
];

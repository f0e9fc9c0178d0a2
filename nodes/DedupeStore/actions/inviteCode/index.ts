import type { INodeProperties } from 'n8n-workflow';

import * as create from './create.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as redeem from './redeem.operation';
import * as revoke from './revoke.operation';

export { create, get, list, redeem, revoke };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['inviteCode'] } },
		options: [
			{ name: 'Create', value: 'create', action: 'Create an invite code', description: 'A code that grants a set of rooms, with a use limit and an expiry' },
			{ name: 'Get', value: 'get', action: 'Inspect an invite code', description: 'What a code grants and how it stands, without redeeming it' },
			{ name: 'List', value: 'list', action: 'List invite codes', description: 'The codes of some events (never the codes themselves)' },
			{ name: 'Redeem', value: 'redeem', action: 'Redeem an invite code', description: 'Count a use and plan the invites into the code\'s rooms' },
			{ name: 'Revoke', value: 'revoke', action: 'Revoke an invite code' },
		],
		default: 'redeem',
	},
	...create.description,
	...get.description,
	...list.description,
	...redeem.description,
	...revoke.description,
];

import type { INodeProperties } from 'n8n-workflow';

import * as create from './create.operation';
import * as deleteToken from './delete.operation';
import * as get from './get.operation';
import * as getMany from './getMany.operation';
import * as update from './update.operation';

export { create, deleteToken, get, getMany, update };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['registrationToken'] } },
		options: [
			{ name: 'Create', value: 'create', action: 'Create a registration token', description: 'Create a token people can register an account with' },
			{ name: 'Delete', value: 'delete', action: 'Delete a registration token' },
			{ name: 'Get', value: 'get', action: 'Get a registration token', description: 'Uses left, registrations under way and completed, expiry' },
			{ name: 'Get Many', value: 'getMany', action: 'Get many registration tokens', description: 'List all, valid or invalid tokens' },
			{ name: 'Update', value: 'update', action: 'Update a registration token', description: 'Change the uses allowed or the expiry' },
		],
		default: 'create',
	},
	...create.description,
	...deleteToken.description,
	...get.description,
	...getMany.description,
	...update.description,
];

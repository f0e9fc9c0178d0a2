import type { INodeProperties } from 'n8n-workflow';

import * as revoke from './revoke.operation';

export { revoke };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['oauthToken'] } },
		options: [
			{
				name: 'Revoke',
				value: 'revoke',
				description: "End this credential's access to pretix (after the event); reconnect it to use it again",
				action: 'Revoke the pretix access',
			},
		],
		default: 'revoke',
	},
	...revoke.description,
];

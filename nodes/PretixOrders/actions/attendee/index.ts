import type { INodeProperties } from 'n8n-workflow';

import * as getMany from './getMany.operation';

export { getMany };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['attendee'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getMany',
				description: 'Get the active attendees of an event: one item per ticket holder',
				action: 'Get many attendees',
			},
		],
		default: 'getMany',
	},
	...getMany.description,
];

import type { INodeProperties } from 'n8n-workflow';

import * as getMany from './getMany.operation';

export { getMany };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['organizer'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getMany',
				description: 'Get the organizers this credential can access',
				action: 'Get many organizers',
			},
		],
		default: 'getMany',
	},
	...getMany.description,
];

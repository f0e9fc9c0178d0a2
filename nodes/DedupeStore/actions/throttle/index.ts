import type { INodeProperties } from 'n8n-workflow';

import * as count from './count.operation';

export { count };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['throttle'] } },
		options: [
			{ name: 'Count Attempt', value: 'count', action: 'Count an attempt', description: 'Count one attempt per sender and order code; too many in a row go to Throttled' },
		],
		default: 'count',
	},
	...count.description,
];

import type { INodeProperties } from 'n8n-workflow';

import * as getCursor from './getCursor.operation';
import * as purge from './purge.operation';
import * as setCursor from './setCursor.operation';
import * as stats from './stats.operation';

export { getCursor, purge, setCursor, stats };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['event'] } },
		options: [
			{
				name: 'Get Cursor',
				value: 'getCursor',
				action: 'Get a sync cursor',
				description: 'Read the stored cursor of an incremental sync',
			},
			{
				name: 'Get Stats',
				value: 'stats',
				action: 'Get event statistics',
				description: 'Aggregate counts: seen, invited, invalid, failed, accepted',
			},
			{
				name: 'Purge',
				value: 'purge',
				action: 'Purge an event',
				description: 'Delete everything held for the event except the aggregate counts',
			},
			{
				name: 'Set Cursor',
				value: 'setCursor',
				action: 'Set a sync cursor',
				description: 'Store the cursor of an incremental sync',
			},
		],
		default: 'stats',
	},
	...stats.description,
	...purge.description,
	...getCursor.description,
	...setCursor.description,
];

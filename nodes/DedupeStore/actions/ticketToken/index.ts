import type { INodeProperties } from 'n8n-workflow';

import * as list from './list.operation';
import * as plan from './plan.operation';
import * as record from './record.operation';

export { list, plan, record };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['ticketToken'] } },
		options: [
			{ name: 'List', value: 'list', action: 'List ticket tokens', description: 'The registration tokens sent for tickets of some events' },
			{ name: 'Plan', value: 'plan', action: 'Plan ticket tokens', description: 'Which tickets get a registration token, and whose token is deleted' },
			{ name: 'Record', value: 'record', action: 'Record a ticket token', description: 'Record that a token was sent or deleted' },
		],
		default: 'plan',
	},
	...list.description,
	...plan.description,
	...record.description,
];

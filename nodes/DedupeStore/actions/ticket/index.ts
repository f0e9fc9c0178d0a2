import type { INodeProperties } from 'n8n-workflow';

import * as plan from './plan.operation';
import * as record from './record.operation';
import * as summarize from './summarize.operation';

export { plan, record, summarize };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['ticket'] } },
		options: [
			{
				name: 'Plan',
				value: 'plan',
				action: 'Plan what tickets change',
				description:
					'Decide per ticket and room: invite, withdraw what a revoked ticket granted, report an unusable Matrix ID, or nothing',
			},
			{
				name: 'Record',
				value: 'record',
				action: 'Record what happened',
				description: 'Record the Matrix result of planned invites, withdrawals and reports',
			},
			{
				name: 'Summarize',
				value: 'summarize',
				action: 'Summarize a run',
				description: 'Count what a run did, for a reply; order codes only for the organizers',
			},
		],
		default: 'plan',
	},
	...plan.description,
	...record.description,
	...summarize.description,
];

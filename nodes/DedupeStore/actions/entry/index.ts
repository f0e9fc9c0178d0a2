import type { INodeProperties } from 'n8n-workflow';

import * as claim from './claim.operation';
import * as complete from './complete.operation';
import * as fail from './fail.operation';
import * as forget from './forget.operation';
import * as lookup from './lookup.operation';
import * as release from './release.operation';

export { claim, complete, fail, forget, lookup, release };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['entry'] } },
		options: [
			{
				name: 'Claim',
				value: 'claim',
				action: 'Claim entries',
				description:
					'Atomically check and mark entries: new ones to output 1, seen ones to output 2',
			},
			{
				name: 'Complete',
				value: 'complete',
				action: 'Complete entries',
				description: 'Record the outcome (invited, invalid, accepted)',
			},
			{
				name: 'Fail',
				value: 'fail',
				action: 'Fail entries',
				description: 'Record a failure with a reason code',
			},
			{
				name: 'Forget Person',
				value: 'forget',
				action: 'Forget a person',
				description: 'Erase everything held for a Matrix ID or order code (GDPR)',
			},
			{
				name: 'Look Up Person',
				value: 'lookup',
				action: 'Look up a person',
				description: 'Show what is held for a Matrix ID or order code (GDPR)',
			},
			{
				name: 'Release',
				value: 'release',
				action: 'Release entries',
				description: 'Give claimed entries back without recording anything',
			},
		],
		default: 'claim',
	},
	...claim.description,
	...complete.description,
	...fail.description,
	...release.description,
	...lookup.description,
	...forget.description,
];

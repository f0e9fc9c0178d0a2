import type { INodeProperties } from 'n8n-workflow';

import * as claim from './claim.operation';

export { claim };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['seatClaim'] } },
		options: [
			{ name: 'Claim', value: 'claim', action: 'Claim a seat for the sender', description: 'One account per seat: the sender takes a free seat of the order (or keeps theirs)' },
		],
		default: 'claim',
	},
	...claim.description,
];

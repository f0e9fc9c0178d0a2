import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { randomToken, type SynapseAdmin } from '../../../../lib/matrix/admin';
import { expiryOf, expiryProperties, resultFieldProperty, show, usesOf, withResult } from '../common';

const ops = ['create'];

export const description: INodeProperties[] = [
	{
		displayName: 'Uses Allowed',
		name: 'usesAllowed',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 1,
		description: 'How many accounts may be registered with the token',
		displayOptions: show(ops),
	},
	{
		displayName: 'Unlimited Uses',
		name: 'unlimitedUses',
		type: 'boolean',
		default: false,
		description: 'Whether the token allows any number of registrations (until it expires)',
		displayOptions: show(ops),
	},
	...expiryProperties(ops, 'expiry'),
	{
		displayName: 'Options',
		name: 'createOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(ops),
		options: [
			{
				displayName: 'Custom Token',
				name: 'token',
				type: 'string',
				typeOptions: { password: true },
				default: '',
				description: 'The token\'s text: 1–64 letters, digits and . _ ~ -. Empty: a random one.',
			},
			{
				displayName: 'Length',
				name: 'length',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 64 },
				default: 16,
				description: 'Random characters of a generated token',
			},
			{
				displayName: 'Prefix',
				name: 'prefix',
				type: 'string',
				default: '',
				placeholder: 'ticket-',
				description: 'Generate the token here, as this prefix followed by random letters and digits (so tokens of a purpose can be told apart in lists)',
			},
		],
	},
	resultFieldProperty(ops),
];

export async function execute(this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number): Promise<INodeExecutionData[]> {
	const options = this.getNodeParameter('createOptions', itemIndex, {}) as { token?: string; length?: number; prefix?: string };
	const usesAllowed = usesOf(this, this.getNodeParameter('unlimitedUses', itemIndex, false), this.getNodeParameter('usesAllowed', itemIndex, 1), itemIndex);
	const expiryTime = expiryOf(this, this.getNodeParameter('expiry', itemIndex, 'days'), this.getNodeParameter('expiryDays', itemIndex, 7), this.getNodeParameter('expiryAt', itemIndex, ''), itemIndex);
	const custom = String(options.token ?? '').trim();
	const prefix = String(options.prefix ?? '').trim();
	const length = options.length === undefined ? undefined : Number(options.length);
	const token = custom || (prefix ? randomToken(prefix, length ?? 16) : undefined);
	const created = await admin.create({ token, length: token ? undefined : length, usesAllowed, expiryTime: expiryTime ?? null });
	return [withResult(this, itemIndex, created)];
}

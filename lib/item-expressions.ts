import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

/**
 * The few expression shapes the templates and our node defaults use per item — `{{ $json.a.b }}`,
 * `{{ $json.organizer }}/{{ $json.event }}`, `{{ $json.mxid?.valid ? $json.mxid.userId : '' }}`,
 * `{{ $json.matrixId ?? '' }}`, `{{ !$json.plan.removeMember }}` — computed straight from the
 * item. n8n 2.40 evaluates every expression in an isolated V8 (isolate and bridge per evaluation):
 * in a burst of webhooks that was a quarter of the n8n process's CPU, most of it Plan's twelve
 * per-item defaults (profile in test/bench/README.md).
 *
 * Only a small grammar is understood: `$json` paths (`.name`, `?.name`), string literals, `!`,
 * `===`, `!==`, `??`, `a ? b : c`, parentheses, and text around `{{ }}` parts. Anything else — and any result
 * that is not a string, number or boolean, or a path JavaScript would throw on — returns undefined,
 * and the caller lets n8n evaluate the expression as always, so the value is the same either way.
 */

type Value = unknown;
const BAIL = Symbol('bail');
/** The value of an access JavaScript throws on (`undefined.x`): an error if it is ever used. */
const THROWN = Symbol('thrown');

class Parser {
	private pos = 0;
	constructor(
		private readonly text: string,
		private readonly json: IDataObject,
	) {}

	private skip(): void {
		while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
	}

	private eat(token: string): boolean {
		this.skip();
		if (this.text.startsWith(token, this.pos)) {
			this.pos += token.length;
			return true;
		}
		return false;
	}

	/** The whole text as one expression, or BAIL. */
	parseAll(): Value | typeof BAIL {
		const value = this.expression();
		this.skip();
		return value === BAIL || this.pos !== this.text.length ? BAIL : value;
	}

	private expression(): Value | typeof BAIL {
		const test = this.coalesce();
		if (test === BAIL) return BAIL;
		// `??` must not be taken for `?`.
		this.skip();
		if (this.text[this.pos] === '?' && this.text[this.pos + 1] !== '?' && this.text[this.pos + 1] !== '.') {
			this.pos++;
			const yes = this.expression();
			if (yes === BAIL || !this.eat(':')) return BAIL;
			const no = this.expression();
			if (no === BAIL) return BAIL;
			if (test === THROWN) return THROWN;
			return test ? yes : no;
		}
		return test;
	}

	private coalesce(): Value | typeof BAIL {
		let value = this.equality();
		while (value !== BAIL && this.eat('??')) {
			const right = this.equality();
			if (right === BAIL) return BAIL;
			value = value === THROWN ? THROWN : (value ?? right);
		}
		return value;
	}

	/** `a === b`, `a !== b` (binds tighter than `??` and `?:`, as in JavaScript). */
	private equality(): Value | typeof BAIL {
		const left = this.unary();
		if (left === BAIL) return BAIL;
		const negate = this.eat('!==');
		if (!negate && !this.eat('===')) return left;
		const right = this.unary();
		if (right === BAIL) return BAIL;
		if (left === THROWN || right === THROWN) return THROWN;
		return negate ? left !== right : left === right;
	}

	private unary(): Value | typeof BAIL {
		if (this.eat('!')) {
			const value = this.unary();
			return value === BAIL || value === THROWN ? value : !value;
		}
		return this.primary();
	}

	private primary(): Value | typeof BAIL {
		this.skip();
		if (this.eat('(')) {
			const value = this.expression();
			return value === BAIL || !this.eat(')') ? BAIL : value;
		}
		const quote = this.text[this.pos];
		if (quote === "'" || quote === '"') {
			const end = this.text.indexOf(quote, this.pos + 1);
			if (end < 0) return BAIL;
			const literal = this.text.slice(this.pos + 1, end);
			if (literal.includes('\\')) return BAIL;
			this.pos = end + 1;
			return literal;
		}
		if (!this.text.startsWith('$json', this.pos) || /[\w$]/.test(this.text[this.pos + 5] ?? '')) return BAIL;
		this.pos += 5;
		let value: Value = this.json;
		let shortCircuit = false;
		for (;;) {
			const optional = this.text.startsWith('?.', this.pos);
			if (!optional && this.text[this.pos] !== '.') return value;
			const name = /^[A-Za-z_][\w]*/.exec(this.text.slice(this.pos + (optional ? 2 : 1)))?.[0];
			if (!name) return BAIL;
			this.pos += (optional ? 2 : 1) + name.length;
			// Optional chaining short-circuits the rest of the chain; a thrown access stays thrown.
			if (shortCircuit || value === THROWN) continue;
			if (value === undefined || value === null) {
				if (optional) {
					shortCircuit = true;
					value = undefined;
				} else value = THROWN; // JavaScript would throw here (fine in a branch not taken)
				continue;
			}
			if (typeof value !== 'object') return BAIL;
			const own = Object.prototype.hasOwnProperty.call(value, name);
			// `constructor`, `toString`, …: JavaScript would find them on the prototype; leave those to n8n.
			if (!own && name in Object.prototype) return BAIL;
			value = own ? (value as IDataObject)[name] : undefined;
		}
	}
}

type Simple = string | number | boolean | null | undefined;

function simple(value: unknown): value is Simple {
	// THROWN (a symbol) is not simple: the expression is left to n8n, which reports the error.
	// null and undefined are: n8n returns them as they are from a whole `{{ }}` and renders them
	// as '' inside text, on its legacy and its isolated-vm engine alike (the parity test runs both).
	return (
		value === null ||
		value === undefined ||
		typeof value === 'string' ||
		(typeof value === 'number' && Number.isFinite(value)) ||
		typeof value === 'boolean'
	);
}

/**
 * The value of an n8n parameter for one item, computed here when the expression is one of the
 * simple shapes above; `{ value }` or undefined ("ask n8n").
 */
export function simpleExpressionValue(raw: string, json: IDataObject): { value: Simple } | undefined {
	if (!raw.startsWith('=')) return undefined;
	const text = raw.slice(1);
	const whole = /^\{\{([^{}]*)\}\}$/.exec(text);
	if (whole) {
		const value = new Parser(whole[1], json).parseAll();
		return value !== BAIL && simple(value) ? { value } : undefined;
	}
	// Text with `{{ }}` parts: each part a simple value, joined as n8n renders them (String()).
	let out = '';
	let last = 0;
	for (const match of text.matchAll(/\{\{([^{}]*)\}\}/g)) {
		out += text.slice(last, match.index);
		const value = new Parser(match[1], json).parseAll();
		if (value === BAIL || !simple(value)) return undefined;
		out += value === null || value === undefined ? '' : String(value);
		last = match.index + match[0].length;
	}
	const rest = text.slice(last);
	if (rest.includes('{{') || rest.includes('}}') || last === 0) return undefined;
	return { value: out + rest };
}

/**
 * `getNodeParameter(name, index)` for a per-item parameter, without n8n's expression engine when
 * the expression is one of the simple shapes (same value), else exactly as n8n evaluates it.
 */
export function itemParameter(context: IExecuteFunctions, name: string, index: number, fallback: unknown = ''): unknown {
	const raw = context.getNodeParameter(name, index, fallback, { rawExpressions: true });
	if (typeof raw === 'string') {
		if (!raw.startsWith('=')) return raw;
		const json = context.getInputData()[index]?.json;
		const fast = json ? simpleExpressionValue(raw, json) : undefined;
		if (fast) return fast.value;
	}
	return context.getNodeParameter(name, index, fallback);
}

/**
 * `getNodeParameter(name, index)` for a collection (an Options field): each expression in it read
 * like itemParameter; a collection with nested collections or lists is left to n8n whole.
 */
export function itemCollection(context: IExecuteFunctions, name: string, index: number): IDataObject {
	const raw = context.getNodeParameter(name, index, {}, { rawExpressions: true });
	if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return context.getNodeParameter(name, index, {}) as IDataObject;
	const out: IDataObject = {};
	for (const [key, value] of Object.entries(raw as IDataObject)) {
		if (value !== null && typeof value === 'object') return context.getNodeParameter(name, index, {}) as IDataObject;
		out[key] = typeof value === 'string' && value.startsWith('=') ? (itemParameter(context, `${name}.${key}`, index) as IDataObject[string]) : value;
	}
	return out;
}

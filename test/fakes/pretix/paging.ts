import { isoToUs, type Json } from './state';

/**
 * Django REST framework's page-number pagination and ordering, as pretix configures them:
 * `src/pretix/api/pagination.py` (`Pagination`: `page_size` query parameter, `max_page_size = 50`;
 * `TotalOrderingFilter`: DRF's `OrderingFilter` plus `pretix.helpers.get_deterministic_ordering`).
 * Every page request runs the query again on the live data, exactly like DRF's `paginate_queryset`
 * (a `LIMIT/OFFSET` over a fresh query), so a change between two page requests shifts items.
 */

export const MAX_PAGE_SIZE = 50;

/** Python's urllib quote_plus: only alphanumerics and `_.-~` stay, space becomes `+`. */
export function quotePlus(value: string): string {
	return encodeURIComponent(value)
		.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
		.replace(/%20/g, '+');
}

/** The DRF page link: the request URL with `page` replaced (or removed), query sorted by key. */
export function pageLink(base: string, pathname: string, query: URLSearchParams, page: number | null): string {
	const grouped = new Map<string, string[]>();
	for (const [key, value] of query) {
		if (!grouped.has(key)) grouped.set(key, []);
		grouped.get(key)!.push(value);
	}
	if (page === null) grouped.delete('page');
	else grouped.set('page', [String(page)]);
	const keys = [...grouped.keys()].sort();
	const parts: string[] = [];
	for (const key of keys) for (const value of grouped.get(key)!) parts.push(`${quotePlus(key)}=${quotePlus(value)}`);
	return `${base}${pathname}${parts.length ? `?${parts.join('&')}` : ''}`;
}

export interface PageRequest {
	/** DRF: a non-positive or non-numeric page_size falls back to the default; above the cap is capped. */
	pageSize: number;
	/** 1-based page number, or NaN when the `page` parameter is not a number (DRF: 404 Invalid page). */
	page: number | 'last';
}

export function pageRequest(query: URLSearchParams): PageRequest {
	const raw = query.get('page_size') ?? '';
	const requested = Number.parseInt(raw, 10);
	const pageSize = /^\d+$/.test(raw) && requested > 0 ? Math.min(requested, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
	const pageParam = query.get('page') ?? '1';
	const page = pageParam === 'last' ? 'last' : /^\d+$/.test(pageParam) ? Number(pageParam) : NaN;
	return { pageSize, page };
}

export interface PageSlice {
	page: number;
	pages: number;
	results: Json[];
}

/** The requested page of `items`, or undefined when it does not exist (DRF answers 404 "Invalid page."). */
export function slicePage(items: Json[], request: PageRequest): PageSlice | undefined {
	const pages = Math.max(1, Math.ceil(items.length / request.pageSize));
	const page = request.page === 'last' ? pages : request.page;
	if (!Number.isInteger(page) || page < 1 || page > pages) return undefined;
	return { page, pages, results: items.slice((page - 1) * request.pageSize, page * request.pageSize) };
}

export type FieldKind = 'datetime' | 'string' | 'number';

export interface OrderingSpec {
	/** Field name → how to compare it. Only these may be requested (DRF `ordering_fields`). */
	fields: Record<string, FieldKind>;
	/** DRF `ordering` on the view, used when the parameter is absent or has no valid term. */
	default: string[];
	/**
	 * pretix's TotalOrderingFilter appends `-pk` unless a unique non-null field is already ordered by
	 * (`get_deterministic_ordering`). Plain DRF `OrderingFilter` (e.g. SubEventViewSet) does not.
	 */
	totalOrdering: boolean;
	/** Fields that are unique and non-null, so they end the tiebreak search. */
	uniqueFields?: string[];
}

/**
 * DRF `OrderingFilter.get_ordering`: the `ordering` parameter is a comma-separated list; each term
 * (optionally `-`-prefixed) must be one of the view's `ordering_fields`, invalid terms are dropped
 * (`remove_invalid_fields`); with no valid term the view's default ordering applies. Then pretix's
 * `get_deterministic_ordering` appends `-pk`.
 */
export function resolveOrdering(query: URLSearchParams, spec: OrderingSpec): string[] {
	const raw = query.get('ordering');
	let terms: string[] = [];
	if (raw !== null && raw.trim() !== '') {
		terms = raw
			.split(',')
			.map((term) => term.trim())
			.filter((term) => term.length > 0 && Object.prototype.hasOwnProperty.call(spec.fields, term.replace(/^-/, '')));
	}
	if (terms.length === 0) terms = [...spec.default];
	if (!spec.totalOrdering) return terms;
	const unique = new Set(['pk', ...(spec.uniqueFields ?? [])]);
	if (terms.some((term) => unique.has(term.replace(/^-/, '')))) return terms;
	return [...terms, '-pk'];
}

/**
 * `items` sorted by a resolved ordering. Datetimes compare in microseconds; NULLs sort like
 * PostgreSQL (last when ascending, first when descending); `pk` comes from `pkOf`. Sort keys are
 * computed once per item (a page request over thousands of orders sorts them all, like the query).
 */
export function sortItems(items: Json[], ordering: string[], spec: OrderingSpec, pkOf: (item: Json) => number): Json[] {
	const keys = ordering.map((term) => ({ field: term.replace(/^-/, ''), descending: term.startsWith('-') }));
	const kinds: FieldKind[] = keys.map(({ field }) => (field === 'pk' ? 'number' : spec.fields[field]));
	const decorated = items.map((item) => ({
		item,
		values: keys.map(({ field }, i): number | string | null => {
			const raw = field === 'pk' ? pkOf(item) : item[field];
			if (raw === null || raw === undefined) return null;
			if (kinds[i] === 'datetime') return isoToUs(String(raw)) ?? 0;
			if (kinds[i] === 'number') return Number(raw);
			return String(raw);
		}),
	}));
	decorated.sort((a, b) => {
		for (let i = 0; i < keys.length; i++) {
			const x = a.values[i];
			const y = b.values[i];
			let base: number;
			if (x === null || y === null) base = x === y ? 0 : x === null ? 1 : -1;
			else base = x < y ? -1 : x > y ? 1 : 0;
			if (base !== 0) return keys[i].descending ? -base : base;
		}
		return 0;
	});
	return decorated.map((entry) => entry.item);
}

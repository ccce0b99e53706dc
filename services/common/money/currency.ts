/**
 * ISO 4217 currencies and their minor-unit exponents (the number of decimal places a
 * price or a charge may have). Source: the ISO 4217 list of current codes (amendment
 * 178). Funds codes and metals (XAU, XDR, ...) are left out: nobody is charged in them.
 */

const EXPONENT_0 =
  'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const EXPONENT_3 = 'BHD IQD JOD KWD LYD OMR TND';
const EXPONENT_4 = 'CLF UYW';
const EXPONENT_2 =
  'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP ' +
  'BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP ' +
  'GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW ' +
  'KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR ' +
  'MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR ' +
  'SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS ' +
  'UAH USD UYU UZS VES VED WST XCD XCG YER ZAR ZMW ZWG';

const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...EXPONENT_0.split(' ').map(c => [c, 0] as const),
  ...EXPONENT_2.split(' ').map(c => [c, 2] as const),
  ...EXPONENT_3.split(' ').map(c => [c, 3] as const),
  ...EXPONENT_4.split(' ').map(c => [c, 4] as const),
]);

/** An ISO 4217 currency. */
export interface Currency {
  readonly code: string;
  /** Decimal places of the minor unit: 2 for USD (cents), 0 for JPY, 3 for BHD. */
  readonly exponent: number;
}

const CURRENCIES = new Map<string, Currency>(
  [...EXPONENTS].map(([code, exponent]) => [code, {code, exponent}]),
);

/** The currency with this code, or undefined when it is not an ISO 4217 currency. */
export function findCurrency(code: string): Currency | undefined {
  return CURRENCIES.get(code);
}

/** Whether `code` is a current ISO 4217 currency Agora accepts. */
export function isCurrencyCode(code: string): boolean {
  return CURRENCIES.has(code);
}

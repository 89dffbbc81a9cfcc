// How the dashboard writes numbers, rupiah, dates and times, in Bahasa Indonesia ("id") and English ("en").
// Pure functions, no DOM: tests/processors/api/test_format_js.py evaluates them in Chromium.
// Written by hand rather than with Intl so that the output does not depend on the browser's ICU data
// (and exact decimal amounts never pass through a float).
"use strict";
(function (root) {
  const SEP = { id: { group: ".", decimal: ",", time: "." }, en: { group: ",", decimal: ".", time: ":" } };
  const MONTHS = {
    id: ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"],
    en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
  };
  const MONTHS_SHORT = {
    id: ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    en: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
  };
  // Large amounts as officials say them: Rp 4,5 miliar (Indonesian "miliar" is 10^9, "triliun" 10^12).
  const SCALES = {
    id: [[12, "triliun"], [9, "miliar"], [6, "juta"]],
    en: [[12, "trillion"], [9, "billion"], [6, "million"]],
  };
  // Indonesia's three time zones by province code (no daylight saving anywhere): UU/Keppres 41/1987.
  // WITA: Bali, NTB, NTT, Kalimantan Selatan/Timur/Utara and all of Sulawesi; WIT: Maluku and Papua.
  const WITA = new Set(["51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"]);
  const WIT = new Set(["81", "82", "91", "92", "93", "94", "95", "96"]);

  function sep(lang) { return SEP[lang] || SEP.id; }

  function group(digits, by) {
    // "1500000" -> "1.500.000"
    let out = "";
    for (let i = 0; i < digits.length; i++) {
      if (i && (digits.length - i) % 3 === 0) out += by;
      out += digits[i];
    }
    return out;
  }

  function splitDecimal(text) {
    // An exact decimal as text ("-1500000.50") -> sign, integer digits, fraction digits.
    const m = /^\s*(-?)(\d*)(?:\.(\d*))?\s*$/.exec(String(text));
    if (!m) return null;
    return { sign: m[1], int: (m[2] || "0").replace(/^0+(?=\d)/, ""), frac: m[3] || "" };
  }

  function decimalText(parts, lang, keepZeroFraction) {
    const s = sep(lang);
    const frac = keepZeroFraction || /[1-9]/.test(parts.frac) ? parts.frac : "";
    return parts.sign + group(parts.int, s.group) + (frac ? s.decimal + frac : "");
  }

  /** A number with at most `maxFraction` decimals (trailing zeros dropped): 1234.5 -> "1.234,5" (id), "1,234.5" (en). */
  function number(value, lang, maxFraction = 2) {
    if (value === null || value === undefined || value === "" || Number.isNaN(Number(value))) return "–";
    const fixed = Number(value).toFixed(maxFraction);
    const parts = splitDecimal(fixed);
    parts.frac = parts.frac.replace(/0+$/, "");
    if (parts.sign && !/[1-9]/.test(parts.int + parts.frac)) parts.sign = "";  // no "-0"
    return decimalText(parts, lang, false);
  }

  /** A percentage: 10.71 -> "10,71%" (id), "10.71%" (en). */
  function percent(value, lang) {
    const n = number(value, lang, 2);
    return n === "–" ? n : `${n}%`;
  }

  /** An exact rupiah amount from its decimal text: "1500000.50" -> "Rp 1.500.000,50" (id), "Rp 1,500,000.50" (en); sen shown when not zero. */
  function rupiah(text, lang) {
    if (text === null || text === undefined) return "–";
    const parts = splitDecimal(text);
    if (!parts) return "–";
    if (parts.frac.length === 1) parts.frac += "0";
    const sign = parts.sign;
    parts.sign = "";
    return `${sign}Rp ${decimalText(parts, lang, false)}`;
  }

  /** A rupiah amount as a headline: "4500000000" -> "Rp 4,5 miliar" (id), "Rp 4.5 billion" (en); below a million, exact. */
  function rupiahShort(text, lang) {
    if (text === null || text === undefined) return "–";
    const parts = splitDecimal(text);
    if (!parts) return "–";
    for (const [power, word] of SCALES[lang] || SCALES.id) {
      if (parts.int.length > power) {
        // Scaled on the digits, not on a float of the whole amount: exact up to the two decimals shown.
        const whole = parts.int.slice(0, parts.int.length - power);
        const rest = Number(`0.${parts.int.slice(parts.int.length - power)}`);
        const value = Number(whole) + rest;
        return `${parts.sign}Rp ${number(value, lang, 2)} ${word}`;
      }
    }
    return rupiah(text, lang);
  }

  /** The time zone of a province: {name: "WIB"|"WITA"|"WIT", offset: hours from UTC}; WIB without a province (the capital's). */
  function zoneOf(provinceCode) {
    const p = provinceCode ? String(provinceCode).slice(0, 2) : "";
    if (WITA.has(p)) return { name: "WITA", offset: 8 };
    if (WIT.has(p)) return { name: "WIT", offset: 9 };
    return { name: "WIB", offset: 7 };
  }

  function two(n) { return String(n).padStart(2, "0"); }

  /** An instant in the local time of a province: "2025-01-01T06:00:00Z", "32" -> "1 Jan 2025 13.00 WIB" (en: "1 Jan 2025 13:00 WIB"). */
  function dateTime(iso, lang, provinceCode) {
    if (!iso) return "–";
    const ms = typeof iso === "number" ? iso : Date.parse(iso);
    if (Number.isNaN(ms)) return "–";
    const zone = zoneOf(provinceCode);
    const d = new Date(ms + zone.offset * 3600000);  // read with the UTC getters: the zone's wall clock
    const months = MONTHS_SHORT[lang] || MONTHS_SHORT.id;
    return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
      `${two(d.getUTCHours())}${sep(lang).time}${two(d.getUTCMinutes())} ${zone.name}`;
  }

  /** A calendar day as written: "2025-01-02" -> "2 Jan 2025" (both languages; "Mei"/"May"). */
  function day(text, lang) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || ""));
    if (!m) return String(text || "–");
    return `${Number(m[3])} ${(MONTHS_SHORT[lang] || MONTHS_SHORT.id)[Number(m[2]) - 1]} ${m[1]}`;
  }

  /** A month: "2025-01" -> "Januari 2025" (id), "January 2025" (en). */
  function month(text, lang) {
    const m = /^(\d{4})-(\d{2})$/.exec(String(text || ""));
    if (!m) return String(text || "–");
    return `${(MONTHS[lang] || MONTHS.id)[Number(m[2]) - 1]} ${m[1]}`;
  }

  /** How long ago, roughly: 90 -> "2 menit" / "2 min"; 7200 -> "2 jam" / "2 h"; 259200 -> "3 hari" / "3 d". */
  function age(seconds, lang) {
    if (seconds === null || seconds === undefined) return "–";
    const words = lang === "en" ? ["s", "min", "h", "d"] : ["detik", "menit", "jam", "hari"];
    if (seconds < 60) return `${Math.round(seconds)} ${words[0]}`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} ${words[1]}`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} ${words[2]}`;
    return `${Math.round(seconds / 86400)} ${words[3]}`;
  }

  root.EgovFormat = { number, percent, rupiah, rupiahShort, zoneOf, dateTime, day, month, age };
})(typeof window !== "undefined" ? window : globalThis);

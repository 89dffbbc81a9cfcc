// The province tile map: one square per province on a grid, the usual choropleth layout when no
// boundary data ships (every province gets the same weight, however small: DKI as much as Papua).
//
// The positions are laid out here by hand from the provinces' approximate centroids: columns run west
// to east (Aceh at 0, Papua at 14), rows north to south, islands kept together (Sumatra, Java–Nusa
// Tenggara along the bottom row, Kalimantan, Sulawesi, Maluku, Papua) and neighbours adjacent where the
// grid allows. The abbreviations are the ones in common official use; the full names come from the API
// (/regions, the Kemendagri list via schemas/regions.py).
"use strict";
(function (root) {
  // [Kemendagri code, abbreviation, column, row]
  const TILES = [
    ["11", "ACEH", 0, 0], ["12", "SUMUT", 1, 1], ["14", "RIAU", 2, 1], ["21", "KEPRI", 3, 1],
    ["13", "SUMBAR", 1, 2], ["15", "JAMBI", 2, 2], ["17", "BKL", 2, 3], ["16", "SUMSEL", 3, 3],
    ["19", "BABEL", 4, 3], ["18", "LPG", 3, 4],
    ["31", "DKI", 5, 4], ["36", "BANTEN", 4, 5], ["32", "JABAR", 5, 5], ["33", "JATENG", 6, 5],
    ["34", "DIY", 7, 5], ["35", "JATIM", 8, 5], ["51", "BALI", 9, 5], ["52", "NTB", 10, 5], ["53", "NTT", 11, 5],
    ["65", "KALTARA", 7, 0], ["61", "KALBAR", 5, 1], ["62", "KALTENG", 6, 1], ["64", "KALTIM", 7, 1],
    ["63", "KALSEL", 7, 2],
    ["75", "GTLO", 9, 0], ["71", "SULUT", 10, 0], ["76", "SULBAR", 8, 1], ["72", "SULTENG", 9, 1],
    ["73", "SULSEL", 8, 2], ["74", "SULTRA", 9, 2],
    ["82", "MALUT", 11, 0], ["81", "MALUKU", 11, 2],
    ["96", "PBD", 12, 1], ["92", "PABAR", 13, 1], ["94", "PATENG", 13, 2], ["91", "PAPUA", 14, 2],
    ["95", "PAPEG", 14, 3], ["93", "PASEL", 14, 4],
  ];
  // Sequential blues, light to dark (ColorBrewer "Blues"); the text on the two darkest is white for contrast.
  const COLOURS = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

  /** The five bins of a measure: percentages on a fixed 0–100 scale, counts from 0 to the largest value. */
  function bins(values, isPercent) {
    const top = isPercent ? 100 : Math.max(1, ...values.filter((v) => v !== null));
    const step = top / COLOURS.length;
    return COLOURS.map((colour, i) => ({ colour, from: i * step, to: (i + 1) * step }));
  }

  function binOf(value, scale) {
    for (let i = 0; i < scale.length; i++) if (value <= scale[i].to) return i;
    return scale.length - 1;
  }

  /**
   * Draw the map into `container`: `values` maps a province code to its value (null: no data), `names` a code to its name,
   * `format` writes a value, `open(code)` drills down, `selected` is highlighted.
   */
  function render(container, legendBox, { values, names, format, open, selected, isPercent, noData, label }) {
    const scale = bins(Object.values(values), isPercent);
    const tiles = TILES.map(([code, abbr, col, row]) => {
      const value = values[code] ?? null;
      const tile = document.createElement("button");
      tile.type = "button";
      tile.className = "tile" + (code === selected ? " selected" : "") + (value === null ? " nodata" : "");
      tile.style.gridColumn = String(col + 1);
      tile.style.gridRow = String(row + 1);
      tile.dataset.testid = "tile";
      tile.dataset.province = code;
      tile.dataset.value = value === null ? "" : String(value);
      const name = names[code] || code;
      const text = value === null ? noData : format(value);
      tile.setAttribute("aria-label", `${name}: ${text}`);
      tile.title = `${name}: ${text}`;
      if (value !== null) {
        const bin = binOf(value, scale);
        tile.style.background = scale[bin].colour;
        if (bin >= 3) tile.classList.add("dark");
      }
      const abbrNode = document.createElement("span");
      abbrNode.className = "abbr";
      abbrNode.textContent = abbr;
      const valueNode = document.createElement("span");
      valueNode.className = "val";
      valueNode.textContent = value === null ? "–" : format(value);
      tile.append(abbrNode, valueNode);
      tile.addEventListener("click", () => open(code));  // a <button>: Enter and Space click it too
      return tile;
    });
    container.replaceChildren(...tiles);
    container.setAttribute("aria-label", label);
    const items = scale.map((b) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = b.colour;
      item.append(swatch, document.createTextNode(`${format(isPercent ? b.from : Math.ceil(b.from))}–${format(isPercent ? b.to : Math.floor(b.to))}`));
      return item;
    });
    const none = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch nodata";
    none.append(swatch, document.createTextNode(noData));
    legendBox.replaceChildren(...items, none);
  }

  root.EgovTiles = { TILES, render };
})(typeof window !== "undefined" ? window : globalThis);

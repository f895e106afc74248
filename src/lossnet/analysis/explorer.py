"""The report's explorer: any attribute or score on x, any score on y, coloured by layer, architecture or weights;
hovering a point shows its architecture, layer, weights, value and 95% interval. Offline: plotly.js (from the
``plotly`` package, the ``workflow`` extra) and the data are embedded in the page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..zoo import LAYER_LABELS
from .labels import arch_label, benchmark_label, metric_label
from .tables import attribute_columns, benchmarks_in, metric_order, networks

COLOURS = {"layer": "layer", "arch_label": "architecture", "weights": "weights"}
CATEGORIES = {"layer": "layer (E → L)", "arch_label": "architecture"}  # categorical x choices

_JS = """
(function(){
const D=JSON.parse(document.getElementById('explorer-data').textContent);
const gd=document.getElementById('explorer');
const pick=id=>document.getElementById(id);
const sx=pick('explorer-x'),sy=pick('explorer-y'),sc=pick('explorer-colour'),lx=pick('explorer-logx');
const label=key=>(D.labels[key]||key);
function interval(r,y){const lo=r['lo:'+y],hi=r['hi:'+y];
return lo==null||hi==null?'(no interval)':'[95% interval '+(+lo).toPrecision(4)+', '+(+hi).toPrecision(4)+']'}
function draw(){
const x=sx.value,y=sy.value,c=sc.value,categorical=x in D.categories;
const groups=new Map();
for(const r of D.rows){if(r[x]==null||r[y]==null)continue;const g=String(r[c]);
if(!groups.has(g))groups.set(g,[]);groups.get(g).push(r)}
const keys=[...groups.keys()];
const order=c==='layer'?D.layers.filter(l=>groups.has(l)).concat(keys.filter(k=>!D.layers.includes(k))):keys.sort();
const traces=order.map(g=>{const rs=groups.get(g);const ci=rs.some(r=>r['lo:'+y]!=null);
return {type:'scatter',mode:'markers',name:g,x:rs.map(r=>r[x]),y:rs.map(r=>r[y]),marker:{size:9,opacity:0.85},
error_y:ci?{type:'data',symmetric:false,array:rs.map(r=>r['hi:'+y]==null?0:r['hi:'+y]-r[y]),
arrayminus:rs.map(r=>r['lo:'+y]==null?0:r[y]-r['lo:'+y]),thickness:1,width:3}:{visible:false},
customdata:rs.map(r=>[r.arch_label,r.layer,r.weights,interval(r,y)]),
hovertemplate:'<b>%{customdata[0]}</b>, layer %{customdata[1]}, weights %{customdata[2]}<br>'+
label(y)+': %{y:.4g} %{customdata[3]}<br>'+label(x)+': %{x}<extra></extra>'}});
const xaxis={title:{text:label(x)},type:categorical?'category':(lx.checked?'log':'linear'),automargin:true};
if(categorical){xaxis.categoryorder='array';xaxis.categoryarray=x==='layer'?D.layers:D.archs}
Plotly.react(gd,traces,{xaxis:xaxis,yaxis:{title:{text:label(y)},automargin:true},legend:{title:{text:D.colours[c]}},
margin:{t:30,r:10},height:520,hovermode:'closest'},{responsive:true,displaylogo:false});
lx.disabled=categorical;
gd.dataset.x=x;gd.dataset.y=y;gd.dataset.colour=c;
gd.dataset.points=String(traces.reduce((n,t)=>n+t.x.length,0));}
[sx,sy,sc,lx].forEach(e=>e.addEventListener('change',draw));
draw();window.explorerReady=true;
})();
"""


def explorer_data(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> dict:
    """One row per (weights, arch, layer) with every headline score (``benchmark/metric``, its ``lo:``/``hi:``
    interval) and every numeric attribute; the labels of the x, y and colour choices."""
    rows = networks(scores)
    keys = ["weights", "arch", "layer"]
    rows = rows.assign(key=rows["benchmark"] + "/" + rows["metric"])
    score_keys = [f"{b}/{m}" for b in benchmarks_in(rows)
                  for m in metric_order(b, rows.loc[rows["benchmark"] == b, "metric"])]
    wide = rows.pivot_table(index=keys, columns="key", values="value", aggfunc="first").reindex(columns=score_keys)
    for bound, prefix in (("ci_low", "lo:"), ("ci_high", "hi:")):
        if bound in rows and rows[bound].notna().any():
            limits = rows.pivot_table(index=keys, columns="key", values=bound, aggfunc="first")
            wide = wide.join(limits.add_prefix(prefix))
    wide = wide.reset_index()
    attrs: list[str] = []
    if attributes is not None and len(attributes):
        attrs = [c for c in attribute_columns(attributes) if c in attributes.columns]
        wide = wide.merge(attributes[["arch", "layer", *attrs]].drop_duplicates(["arch", "layer"]),
                          on=["arch", "layer"], how="left")
    wide["arch_label"] = wide["arch"].map(arch_label)
    labels = {key: f"{benchmark_label(key.split('/')[0])}: {metric_label(*key.split('/', 1))}" for key in score_keys}
    labels.update({attr: attr.replace("_", " ") for attr in attrs})
    labels.update(CATEGORIES)
    records = json.loads(wide.replace({np.nan: None}).to_json(orient="records"))
    return {"rows": records, "scores": score_keys, "attributes": attrs, "labels": labels,
            "categories": CATEGORIES, "colours": COLOURS, "layers": list(LAYER_LABELS),
            "archs": sorted(set(wide["arch_label"]))}


def _options(keys: list[str], labels: dict[str, str], selected: str) -> str:
    from html import escape

    return "".join(f"<option value='{escape(k)}'{' selected' if k == selected else ''}>{escape(labels.get(k, k))}"
                   "</option>" for k in keys)


def explorer_html(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> str:
    """The explorer's controls, plot and scripts (plotly.js inline), or a note when there is nothing to plot."""
    data = explorer_data(scores, attributes)
    if not data["rows"] or not data["scores"]:
        return "<p class='note'>No loss-network scores to explore.</p>"
    from plotly.offline import get_plotlyjs  # the workflow extra: the report is built by the workflow

    labels = data["labels"]
    x_keys = [*data["attributes"], *CATEGORIES, *data["scores"]]
    x_default = "mflops_to_layer" if "mflops_to_layer" in data["attributes"] else "layer"
    controls = (
        "<div class='explorer-controls'>"
        f"<label>x <select id='explorer-x'>{_options(x_keys, labels, x_default)}</select></label>"
        f"<label>y <select id='explorer-y'>{_options(data['scores'], labels, data['scores'][0])}</select></label>"
        f"<label>colour by <select id='explorer-colour'>{_options(list(COLOURS), COLOURS, 'layer')}</select></label>"
        "<label><input type='checkbox' id='explorer-logx' checked> log x</label></div>")
    payload = json.dumps(data).replace("</", "<\\/")  # never ends the script element early
    return (f"<p class='note'>Pick an attribute or score for x and a score for y; hover a point for its "
            f"architecture, layer, value and 95% interval (error bars). {len(data['rows'])} loss networks "
            "(architecture x layer x weights).</p>" + controls + "<div id='explorer'></div>"
            f"<script type='application/json' id='explorer-data'>{payload}</script>"
            f"<script>{get_plotlyjs()}</script><script>{_JS}</script>")

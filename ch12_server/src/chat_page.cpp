// The chat page. It keeps the conversation, streams each answer from /v1/chat/completions
// (Server-Sent Events read from fetch()'s body), stops a stream with an AbortController (the
// server then cancels the request and frees its KV blocks), shows tokens/s, and polls /metrics
// for a live view of the KV cache.
#include "chat_page.h"

namespace llm::server {

const std::string& chat_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>llmcpp chat</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh;background:#f6f6f4;color:#222}
main{flex:1;display:flex;flex-direction:column;max-width:860px;margin:0 auto;padding:12px}
#log{flex:1;overflow-y:auto;padding:8px}
.msg{margin:8px 0;padding:10px 12px;border-radius:10px;white-space:pre-wrap;line-height:1.4}
.user{background:#dbeafe;margin-left:15%}.assistant{background:#fff;border:1px solid #ddd;margin-right:15%}
form{display:flex;gap:8px}textarea{flex:1;font:inherit;padding:8px;min-height:48px}
button{font:inherit;padding:8px 14px}aside{width:240px;padding:12px;border-left:1px solid #ddd;background:#fff;font-size:14px}
label{display:block;margin:8px 0}input{width:90px}.stat{font-family:monospace}
#blocks{display:flex;flex-wrap:wrap;gap:1px;margin-top:6px}#blocks span{width:6px;height:6px;background:#ddd}
#blocks span.u{background:#2563eb}#blocks span.c{background:#93c5fd}
</style></head><body>
<main><h3 id="title">llmcpp</h3><div id="log"></div>
<form id="f"><textarea id="q" placeholder="Ask something (Enter sends, Shift+Enter for a new line)"></textarea>
<button id="send" type="submit">Send</button><button id="stop" type="button" disabled>Stop</button>
<button id="reset" type="button">New chat</button></form><div id="speed" class="stat"></div></main>
<aside><b>Sampling</b>
<label>temperature <input id="temperature" type="number" step="0.1" min="0" max="2" value="0.7"></label>
<label>top_p <input id="top_p" type="number" step="0.05" min="0.05" max="1" value="0.95"></label>
<label>top_k <input id="top_k" type="number" step="1" min="0" value="40"></label>
<label>max tokens <input id="max_tokens" type="number" step="1" min="1" value="256"></label>
<label>seed <input id="seed" type="number" step="1" placeholder="random"></label>
<hr><b>KV cache</b><div id="kv" class="stat"></div><div id="blocks"></div></aside>
<script>
const $=id=>document.getElementById(id);let history=[],ctrl=null,model="";
fetch("/v1/models").then(r=>r.json()).then(j=>{model=j.data[0].id;$("title").textContent=model}).catch(()=>{});
function add(role,text){const d=document.createElement("div");d.className="msg "+role;d.textContent=text;$("log").appendChild(d);$("log").scrollTop=1e9;return d}
$("q").addEventListener("keydown",e=>{if(e.key==="Enter"&&!e.shiftKey){e.preventDefault();$("f").requestSubmit()}});
$("reset").onclick=()=>{history=[];$("log").innerHTML="";$("speed").textContent=""};
$("stop").onclick=()=>{if(ctrl)ctrl.abort()};
$("f").onsubmit=async e=>{e.preventDefault();const q=$("q").value.trim();if(!q||ctrl)return;$("q").value="";
 add("user",q);history.push({role:"user",content:q});const out=add("assistant","");
 const body={model,messages:history,stream:true,stream_options:{include_usage:true}};
 for(const k of ["temperature","top_p","top_k","max_tokens","seed"]){const v=$(k).value;if(v!=="")body[k]=Number(v)}
 ctrl=new AbortController();$("send").disabled=true;$("stop").disabled=false;
 let text="",n=0,t0=performance.now(),t1=0;
 try{const r=await fetch("/v1/chat/completions",{method:"POST",headers:{"Content-Type":"application/json"},body:JSON.stringify(body),signal:ctrl.signal});
  if(!r.ok){const j=await r.json();throw new Error(j.error?j.error.message:r.statusText)}
  const rd=r.body.getReader(),dec=new TextDecoder();let buf="";
  for(;;){const {value,done}=await rd.read();if(done)break;buf+=dec.decode(value,{stream:true});let i;
   while((i=buf.indexOf("\n\n"))>=0){const ev=buf.slice(0,i);buf=buf.slice(i+2);if(!ev.startsWith("data: "))continue;
    const data=ev.slice(6);if(data==="[DONE]")continue;const j=JSON.parse(data);
    if(j.choices&&j.choices.length){const c=j.choices[0].delta.content;if(c){if(!n)t1=performance.now();n++;text+=c;out.textContent=text;$("log").scrollTop=1e9}}
    if(j.usage)n=j.usage.completion_tokens}}
 }catch(err){if(err.name!=="AbortError")out.textContent=text+" [error: "+err.message+"]";else out.textContent=text+" [stopped]"}
 history.push({role:"assistant",content:text});const dt=(performance.now()-(t1||t0))/1000;
 $("speed").textContent=n+" tokens, "+(n>1&&dt>0?((n-1)/dt).toFixed(1):"-")+" tok/s, first token "+((t1||performance.now())-t0).toFixed(0)+" ms";
 ctrl=null;$("send").disabled=false;$("stop").disabled=true};
async function kv(){try{const t=await (await fetch("/metrics")).text();const g=k=>{const m=t.match(new RegExp("^"+k+" (\\S+)$","m"));return m?Number(m[1]):0};
 const tot=g("llm_kv_blocks_total"),u=g("llm_kv_blocks_used"),c=g("llm_kv_blocks_cached");
 $("kv").innerHTML="blocks used "+u+"<br>cached "+c+"<br>free "+g("llm_kv_blocks_free")+" / "+tot+"<br>prefix hits "+(100*g("llm_prefix_cache_hit_rate")).toFixed(0)+"%<br>running "+g("llm_requests_running")+", waiting "+g("llm_requests_waiting");
 const b=$("blocks"),show=Math.min(tot,512);if(b.children.length!==show){b.innerHTML="";for(let i=0;i<show;i++)b.appendChild(document.createElement("span"))}
 const su=Math.round(u*show/Math.max(tot,1)),sc=Math.round(c*show/Math.max(tot,1));[...b.children].forEach((s,i)=>s.className=i<su?"u":i<su+sc?"c":"")}catch(e){}}
setInterval(kv,1000);kv();
</script></body></html>
)HTML";
  return page;
}

}  // namespace llm::server

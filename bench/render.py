"""Benchmark the template engine on a realistic newsletter.

Compiles a ~20 KB template (<style> rules incl. @media, a hidden preheader, a per-recipient
loop, 20 links) and renders it for N recipients in each mode, to show what compile-time CSS
inlining and compile-time text generation save over doing them per recipient.

    python bench/render.py [--recipients 20000]

Rates are given by wall clock and by process CPU time (the steadier figure on a shared machine);
"best" is the CPU cost per item of the fastest 1,000-item stretch.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mailer.engine.rendering import compile_email, html_to_text, recipient_context
from mailer.engine.rendering.css import inline_styles, normalise_html
from mailer.engine.rendering.placeholders import Placeholders, Segment, split_segments
from mailer.engine.rendering.plaintext import finish_text, text_template_source
from mailer.engine.rendering.sandbox import USER_ENVS


def _placeholders(html: str) -> tuple[list[Segment], Placeholders]:
    segments = split_segments(USER_ENVS["html"], html)
    return segments, Placeholders(segments)


STYLE = """
  body { margin: 0; padding: 0; background: #f4f4f7; font-family: Helvetica, Arial, sans-serif; }
  table { border-collapse: collapse; }
  .wrapper { width: 100%; background: #f4f4f7; }
  .container { width: 600px; margin: 0 auto; background: #ffffff; }
  .header td { padding: 24px; background: #1f2937; color: #ffffff; }
  .header a { color: #ffffff; text-decoration: none; font-weight: bold; }
  h1 { font-size: 26px; line-height: 32px; color: #111827; margin: 0 0 12px; }
  h2 { font-size: 20px; line-height: 26px; color: #111827; margin: 0 0 8px; }
  p { font-size: 15px; line-height: 22px; color: #374151; margin: 0 0 14px; }
  a { color: #2563eb; }
  .content { padding: 24px; }
  .article td { padding: 16px 24px; border-bottom: 1px solid #e5e7eb; }
  .article img { display: block; width: 552px; height: auto; border: 0; }
  .price { font-size: 18px; font-weight: bold; color: #059669; }
  .button { display: inline-block; padding: 12px 20px; background: #2563eb; color: #ffffff;
            border-radius: 6px; text-decoration: none; font-weight: bold; }
  .muted { color: #6b7280; font-size: 12px; }
  .footer td { padding: 24px; text-align: center; background: #f9fafb; }
  .footer a { color: #6b7280; }
  .social a { margin: 0 6px; }
  @media only screen and (max-width: 620px) {
    .container { width: 100% !important; }
    .article img { width: 100% !important; }
    h1 { font-size: 22px !important; }
  }
"""

STORY = """
        <tr class="article"><td>
          <img src="https://cdn.example.com/img/{slug}.jpg" alt="{title}" width="552">
          <h2><a href="https://example.com/blog/{slug}">{title}</a></h2>
          <p>{body}</p>
          <p class="muted">{body_short}</p>
        </td></tr>"""

BODY = (
    "Our team spent the month talking to customers about how they plan, launch and measure "
    "campaigns. Here is what we learned, what we changed in the product, and what is coming "
    "next quarter. As always, reply to this email if you have questions or ideas; every reply "
    "is read by a human on the product team and many of them end up on the roadmap. "
)


def newsletter() -> str:
    stories = "".join(
        STORY.format(
            slug=f"story-{i}",
            title=f"Story number {i}: what we learned",
            body=BODY * 4,
            body_short=BODY,
        )
        for i in range(1, 9)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Monthly news</title>
<style>{STYLE}</style></head>
<body>
<div style="display:none;max-height:0;overflow:hidden">
  Your picks for this month, {{{{ first_name }}}}.</div>
<table class="wrapper" role="presentation"><tr><td>
<table class="container" role="presentation">
  <tr class="header"><td>
    <a href="https://example.com/">Example News</a> |
    <a href="https://example.com/products">Products</a> |
    <a href="https://example.com/pricing">Pricing</a> |
    <a href="https://example.com/blog">Blog</a>
  </td></tr>
  <tr><td class="content">
    <h1>Hello {{{{ first_name | default("there") }}}},</h1>
    <p>Here is your {{{{ attributes.plan | default("free") }}}} plan digest for {{{{ city }}}}.
       <a href="{{{{ view_online_url }}}}">View this email in your browser</a>.</p>
  </td></tr>
  {stories}
  <tr><td class="content"><h2>Picked for you</h2></td></tr>
  {{% for product in products %}}
  <tr class="article"><td>
    <p><a href="https://example.com/p/{{{{ product.sku }}}}">{{{{ product.name }}}}</a>
       <span class="price">{{{{ "%.2f" | format(product.price) }}}} EUR</span></p>
    {{% if loop.first %}}<p class="muted">Our top pick for you this month.</p>{{% endif %}}
  </td></tr>
  {{% endfor %}}
  <tr><td class="content">
    <p><a class="button" href="https://example.com/account?ref=newsletter">Open your account</a></p>
  </td></tr>
  <tr class="footer"><td>
    <p class="social"><a href="https://twitter.com/example">Twitter</a>
      <a href="https://www.linkedin.com/company/example">LinkedIn</a>
      <a href="https://github.com/example">GitHub</a></p>
    <p class="muted">You receive this because {{{{ email }}}} subscribed at example.com.
      <a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a> or
      <a href="https://example.com/preferences">update your preferences</a>.</p>
  </td></tr>
</table>
</td></tr></table>
</body></html>
"""


def contexts(count: int) -> list[dict[str, Any]]:
    return [
        recipient_context(
            email=f"user{i}@example.org",
            first_name=f"Name{i}",
            last_name="Tester",
            attributes={
                "plan": "Pro" if i % 3 else "Team",
                "city": "Lisbon",
                "products": [
                    {"sku": f"SKU-{i % 97}-{n}", "name": f"Product {n} <b>", "price": 9.5 + n}
                    for n in range(3)
                ],
            },
            unsubscribe_url=f"https://example.com/u/token{i}",
            view_online_url=f"https://example.com/v/token{i}",
        )
        for i in range(count)
    ]


def timed(label: str, work: Callable[[Any], object], items: list[Any]) -> None:
    """Rate by wall clock and by CPU time (steadier on a busy machine), and the CPU cost of
    the best 1,000-item stretch."""
    chunks = [items[i : i + 1000] for i in range(0, len(items), 1000)]
    cpu: list[float] = []
    wall_start = time.perf_counter()
    for chunk in chunks:
        start = time.process_time()
        for item in chunk:
            work(item)
        cpu.append((time.process_time() - start) / len(chunk))
    wall = len(items) / (time.perf_counter() - wall_start)
    cpu_rate = len(items) / sum(c * len(chunk) for c, chunk in zip(cpu, chunks, strict=True))
    print(
        f"  {label:<52} {wall:>7,.0f}/s wall {cpu_rate:>7,.0f}/s cpu"
        f"  best {min(cpu) * 1e6:>6,.0f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    args = parser.parse_args()
    html = newsletter()
    ctxs: list[Mapping[str, Any]] = list(contexts(args.recipients))
    n = len(ctxs)
    print(f"template: {len(html):,} chars, {html.count('<a ')} links, {n:,} recipients")

    compile_times = []
    for _ in range(5):
        start = time.perf_counter()
        auto = compile_email("News for {{ first_name }}", html)
        compile_times.append(time.perf_counter() - start)
    plain = compile_email("News for {{ first_name }}", html, inline_css=False)
    print(f"compile_email: {statistics.median(compile_times) * 1000:.1f} ms (median of 5)")
    print(f"strategies: css={auto.css_strategy} text={auto.text_strategy}")
    for reason in auto.fallback_reasons:
        print(f"  fallback: {reason}")

    per_render_css = dataclasses.replace(
        auto, html_template=plain.html_template, css_strategy="render"
    )
    per_render_text = dataclasses.replace(auto, text_template=None, text_strategy="render")
    per_render_all = dataclasses.replace(per_render_css, text_template=None, text_strategy="render")
    with_text = "Hi {{ first_name }}, your digest: {{ view_online_url }}"
    custom_text = compile_email("News for {{ first_name }}", html, with_text)

    sample = auto.render(ctxs[0])
    print(f"rendered: html {len(sample.html):,} chars, text {len(sample.text):,} chars")
    reference = per_render_all.render(ctxs[0])
    assert sample.text == reference.text
    assert normalise_html(sample.html) == normalise_html(reference.html)

    print("renders (subject + html + text):")
    timed("no CSS inlining, text template from compile time", plain.render, ctxs)
    timed("CSS inlined at compile time, text at compile time", auto.render, ctxs)
    timed("CSS inlined per render, text at compile time", per_render_css.render, ctxs)
    timed("CSS inlined at compile time, text per render", per_render_text.render, ctxs)
    timed("CSS inlined per render, text per render", per_render_all.render, ctxs)
    timed("CSS inlined at compile time, custom text body", custom_text.render, ctxs)

    print("parts, per recipient:")
    rendered_html = [plain.html_template.render(c) for c in ctxs[:2000]]
    timed("css_inline of the rendered HTML (per-render CSS)", inline_styles, rendered_html)
    timed("html_to_text of the rendered HTML (per-render text)", html_to_text, rendered_html)
    text_template = auto.text_template
    assert text_template is not None
    timed(
        "text template from compile time: render + finish",
        lambda c: finish_text(text_template.render(c)),
        ctxs[:2000],
    )
    start = time.perf_counter()
    text_template_source(*_placeholders(html))
    print(
        f"  generating the text template once (compile time): "
        f"{(time.perf_counter() - start) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()

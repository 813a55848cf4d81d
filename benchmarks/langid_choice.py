"""Which language detector should modelmint use? Measures each candidate whose model ships in
its wheel on the same texts: a seeded sample of the synthetic corpus (one text per dialogue,
labelled with its language) and short hand-written strings in a dozen languages, including
Chinese sentences with order numbers and English product names in them.

Prints a table, then, as its last line, one line of JSON with each candidate's accuracy and
speed and the one chosen: the most accurate on short strings among those at >= 0.99 on the
corpus, the faster one on a tie. Candidates that are not installed are skipped. The row
``modelmint`` is what ``modelmint.data.langid.detect_language`` makes of the chosen one.

Run: .venv/bin/python benchmarks/langid_choice.py   (about half a minute on one core)
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

from modelmint.samples import generate_sample_corpus

SAMPLE_DOCS = 1200
CHINESE = {"zh", "yue", "wuu"}  # ISO 639-1 "zh" covers Cantonese and Wu too

SHORT: list[tuple[str, str]] = [
    # Chinese customer turns
    ("zh", "你好"),
    ("zh", "谢谢！"),
    ("zh", "好的，知道了。"),
    ("zh", "订单什么时候发货？"),
    ("zh", "我的快递到哪了"),
    ("zh", "退款到账了吗？"),
    ("zh", "这个颜色还有货吗？"),
    ("zh", "麻烦尽快处理一下"),
    ("zh", "在吗？"),
    ("zh", "怎么申请退货"),
    # Chinese with order and tracking numbers and English product names
    ("zh", "我买的iPhone 15 Pro Max，订单MM20260613-79313还没发货"),
    ("zh", "AirPods Pro的降噪效果怎么样？"),
    ("zh", "订单MM20250505-31514是用PayPal付的，能退吗"),
    ("zh", "SF1234567890123这个单号查不到"),
    ("zh", "我的MacBook Air充不进电了"),
    ("zh", "Nike Air Max 90有42码吗？"),
    ("zh", "请问Switch OLED版什么时候到货？"),
    ("zh", "用Apple Pay付款失败了，提示error code 403"),
    ("zh", "UPS单号1ZD7CZ4M6397584388显示delivered，但我没收到"),
    ("zh", "JD0012345678901，京东物流，帮我查一下"),
    ("zh", "Kindle Paperwhite 5 Signature Edition 32GB 现在有优惠吗"),
    ("zh", "Apple iPhone 15 Pro Max 256GB Natural Titanium 退货"),
    # English
    ("en", "Thanks!"),
    ("en", "Where is my order?"),
    ("en", "Can I get a refund?"),
    ("en", "OK, that's all for now."),
    ("en", "My package never arrived."),
    ("en", "Do you ship to Canada?"),
    ("en", "The app keeps crashing."),
    ("en", "Please cancel order MM20250505-31514."),
    ("en", "Tracking says delivered, but nothing here."),
    ("en", "Is the blue one back in stock?"),
    ("en", "My name is 张伟 and I need help with my order."),
    # languages a keep-list has to recognise in order to reject them
    ("fr", "Où est ma commande ?"),
    ("fr", "Merci beaucoup pour votre aide."),
    ("fr", "Je voudrais annuler ma commande."),
    ("de", "Wo ist meine Bestellung?"),
    ("de", "Vielen Dank für Ihre Hilfe."),
    ("de", "Ich möchte meine Bestellung stornieren."),
    ("es", "¿Dónde está mi pedido?"),
    ("es", "Muchas gracias por su ayuda."),
    ("es", "Quiero cancelar mi pedido."),
    ("pt", "Onde está o meu pedido?"),
    ("it", "Grazie mille per l'aiuto."),
    ("ru", "Где мой заказ?"),
    ("ru", "Спасибо за помощь."),
    ("ja", "注文した商品がまだ届いていません。"),
    ("ja", "ありがとうございます"),
    ("ja", "返品したいです。"),
    ("ko", "주문한 상품이 아직 도착하지 않았어요."),
]

Classify = Callable[[str], str]


def _py3langid() -> Classify:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    return lambda text: ident.classify(text)[0]


def _langid() -> Classify:
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model)
    return lambda text: ident.classify(text)[0]


def _lingua(low_accuracy: bool) -> Callable[[], Classify]:
    def build() -> Classify:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
        detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

        def classify(text: str) -> str:
            lang = detector.detect_language_of(text)
            return lang.iso_code_639_1.name.lower() if lang is not None else "und"

        return classify

    return build


def _modelmint() -> Classify:
    from modelmint.data.langid import detect_language

    return lambda text: detect_language(text).lang


CANDIDATES: dict[str, Callable[[], Classify]] = {
    "py3langid": _py3langid,
    "langid": _langid,
    "lingua": _lingua(low_accuracy=False),
    "lingua-low-accuracy": _lingua(low_accuracy=True),
}


def _accuracy(classify: Classify, data: list[tuple[str, str]]) -> float:
    def norm(lang: str) -> str:
        return "zh" if lang in CHINESE else lang

    return sum(norm(classify(text)) == lang for lang, text in data) / len(data)


def measure(build: Callable[[], Classify], sample: list[tuple[str, str]]) -> dict[str, float]:
    start = time.perf_counter()
    classify = build()
    classify("warm up 你好")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    sample_acc = _accuracy(classify, sample)
    docs_per_s = len(sample) / (time.perf_counter() - start)
    return {
        "sample_accuracy": round(sample_acc, 4),
        "short_accuracy": round(_accuracy(classify, SHORT), 4),
        "docs_per_s": round(docs_per_s),
        "load_s": round(load_s, 2),
    }


def main() -> None:
    records, _ = generate_sample_corpus(6000, seed=0)
    picked = random.Random(0).sample(records, SAMPLE_DOCS)
    sample = [(r["lang"], "\n".join(m["content"] for m in r["messages"])) for r in picked]

    results: dict[str, dict[str, float]] = {}
    print(f"{SAMPLE_DOCS} sample dialogues, {len(SHORT)} short strings")
    print(f"{'candidate':<22}{'sample acc':>11}{'short acc':>11}{'docs/s':>9}{'load s':>8}")
    for name, build in [*CANDIDATES.items(), ("modelmint", _modelmint)]:
        try:
            results[name] = r = measure(build, sample)
        except ImportError:
            print(f"{name:<22}not installed")
            continue
        print(
            f"{name:<22}{r['sample_accuracy']:>11.4f}{r['short_accuracy']:>11.4f}"
            f"{r['docs_per_s']:>9}{r['load_s']:>8.2f}"
        )
    eligible = [n for n in CANDIDATES if n in results and results[n]["sample_accuracy"] >= 0.99]
    chosen = max(
        eligible,
        key=lambda n: (results[n]["short_accuracy"], results[n]["docs_per_s"]),
        default=None,
    )
    print(f"chosen: {chosen}")
    print(json.dumps({"sample_docs": SAMPLE_DOCS, "candidates": results, "chosen": chosen}))


if __name__ == "__main__":
    main()

import pytest

from modelmint.modeling import load_tokenizer
from modelmint.serving.core import IncrementalDecoder
from modelmint.training import train_tokenizer
from support.helpers import TEXTS


@pytest.fixture(scope="module")
def tok(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("tok")
    # A small vocabulary leaves many Chinese characters split over several byte tokens.
    train_tokenizer(TEXTS, out, vocab_size=300)
    return load_tokenizer(out)


def _pieces(tok, text: str, stops=()) -> tuple[list[str], IncrementalDecoder]:
    dec = IncrementalDecoder(lambda ids: tok.decode(ids), stops)
    pieces = []
    for i in tok.encode(text, add_special_tokens=False):
        pieces.append(dec.push(i))
        if dec.stopped:
            return pieces, dec
    pieces.append(dec.flush())
    return pieces, dec


def test_pieces_never_split_a_character(tok) -> None:
    text = "饕餮大餐🎉，龘字很少见！Hello 世界"
    ids = tok.encode(text, add_special_tokens=False)
    assert len(ids) > len(text)  # several tokens per character: the case under test
    pieces, _ = _pieces(tok, text)
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_stop_string_across_tokens_is_cut_and_never_sent(tok) -> None:
    text = "退款已经处理，预计3-5个工作日到账。谢谢！"
    pieces, dec = _pieces(tok, text, stops=["工作日"])
    assert dec.stopped
    assert "".join(pieces) == "退款已经处理，预计3-5个"
    assert not any("工" in p for p in pieces)


def test_a_prefix_of_a_stop_string_is_released_when_it_does_not_complete(tok) -> None:
    pieces, dec = _pieces(tok, "order ord orders", stops=["order!"])
    assert not dec.stopped
    assert "".join(pieces) == "order ord orders"


def test_earliest_of_several_stops_wins(tok) -> None:
    pieces, _dec = _pieces(tok, "Hello world, goodbye world", stops=["goodbye", "world"])
    assert "".join(pieces) == "Hello "


def test_every_prefix_is_what_decoding_everything_gives(tok) -> None:
    text = "我们的订单 order 12345 已发货🎉 tracking ＃88，谢谢！ " * 6
    ids = tok.encode(text, add_special_tokens=False)
    dec = IncrementalDecoder(lambda i: tok.decode(i))
    sent = ""
    for n, i in enumerate(ids, start=1):
        sent += dec.push(i)
        assert tok.decode(ids[:n]).startswith(sent)  # nothing sent that the whole disowns
        assert dec.text == tok.decode(ids[:n]).rstrip("\ufffd")
    assert sent + dec.flush() == text


def test_a_tokenizer_that_drops_a_window_start_space_loses_nothing() -> None:
    # SentencePiece-like: a word-start marker decodes to a space except at the very start
    # of what is decoded, so a window decoded alone would drop spaces.
    vocab = ["▁the", "▁cat", "s", "▁sat"]

    def decode(ids: list[int]) -> str:
        return "".join(vocab[i] for i in ids).replace("▁", " ").lstrip(" ")

    dec = IncrementalDecoder(decode)
    ids = [0, 1, 2, 3, 0, 1]
    pieces = [dec.push(i) for i in ids] + [dec.flush()]
    assert "".join(pieces) == "the cats sat the cat"

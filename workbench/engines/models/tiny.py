"""Tiny models with random weights, built offline: the sample task's babbler and the tests' models.

A word-level tokenizer over a few hundred English words (so the model babbles words, not
bytes), a chat template over role tokens (or none), and a two-layer GPT-2 (``causal``) or
T5 (``seq2seq``) with random weights from a fixed seed. Building one takes about a second
on a laptop CPU and a few megabytes on disk; nothing is downloaded. The directory is written
beside its final place and renamed into it, so two processes building at once are safe.

Only the loading thread and tests call this (it imports torch and transformers).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

#: the built-in models a task may name as ``model: builtin:NAME``
BUILTIN = {"tiny-babbler": "causal"}

WORDS = """
the a an and or but if then so because when while where what who how why which this that these those
i you he she it we they me him her us them my your his its our their mine yours
is are was were be been being am have has had do does did will would can could shall should may might must
say said tell told ask asked know knew think thought see saw look find found give gave take took make made
go went come came get got want like love need feel try leave call keep let begin seem help talk turn start
show hear play run move live believe bring happen write sit stand lose pay meet include continue set learn
change lead understand watch follow stop create speak read spend grow open walk win offer remember consider
appear buy wait serve die send expect build stay fall cut reach kill remain suggest raise pass sell require
time year people way day man thing woman life child world school state family student group country problem
hand part place case week company system program question work government number night point home water room
mother area money story fact month lot right study book eye job word business issue side kind head house
service friend father power hour game line end member law car city community name president team minute
idea kid body information back parent face others level office door health person art war history party
result morning reason research girl guy moment air teacher force education good new first last long great
little own other old big high different small large next early young important few public bad same able
not very also just now only then more here well even back still never really always often maybe today
hello hi yes no please thanks sorry okay sure nice tiny model babble words random
""".split()
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]
PUNCTUATION = [".", ",", "!", "?"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build(
    target: Path, kind: Literal["causal", "seq2seq"] = "causal", chat_template: bool = True, seed: int = 0
) -> Path:
    """Build a tiny random model into ``target`` (a directory made for it) and return it."""
    from workbench.engines.models.loading import quiet

    quiet()
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    words = list(dict.fromkeys(WORDS))
    vocab = {token: i for i, token in enumerate(SPECIAL + ROLE_TOKENS + words + PUNCTUATION)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=ROLE_TOKENS,
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config: Any
    model: Any
    if kind == "causal":
        config = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=1024,
            n_embd=64,
            n_layer=2,
            n_head=2,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        model = GPT2LMHeadModel(config)
    else:
        config = T5Config(
            vocab_size=len(tokenizer),
            d_model=64,
            d_ff=128,
            d_kv=32,
            num_layers=2,
            num_heads=2,
            # T5Config takes it through PreTrainedConfig's **kwargs, which its stub leaves out
            decoder_start_token_id=tokenizer.pad_token_id,  # type: ignore[call-arg]
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        model = T5ForConditionalGeneration(config)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        try:
            os.replace(work, target)
        except OSError:
            if not (target / "config.json").is_file():  # not someone else's finished build
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target

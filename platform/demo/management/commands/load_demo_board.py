"""Demo content for the board: about twenty help tasks (お手伝い) in 飛騨市, 智頭町, 海士町,
三豊市, 下北山村, 西粟倉村 and 遠野市, in every category, with sessions in the coming weeks,
sign-ups (full sessions with waiting lists, a host-approved task, an offer to confirm) and a
completed task with its activity report.

Everything goes through the services, as the towns' staff, a host (ヌシ) and participants
would do it; only the completed task's dates are moved into the past afterwards (the
services schedule nothing there), as time passing would. Every task says it is demo
content, in its title and at the end of its description. Sessions are dated from the day
it runs. Idempotent: a task that exists (by municipality and title) and has not ended is
left alone; one that has ended stays as history and a fresh copy is made, so that a demo
loaded again weeks later still has tasks to sign up for. Refused in production.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Membership, Role, User
from accounts.selectors import staff_scope, staff_scope_forget
from accounts.services import membership_grant
from demo.management.commands.load_demo_accounts import DEMO_PASSWORD
from demo.second_factor import demo_second_factor_give
from matching import services
from matching.models import (
    HostApplication,
    HostApplicationStatus,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    Task,
)
from places.models import Municipality
from registry import services as registry_services
from registry.flags import mask_of
from registry.models import Category, Skill

DEMO_SUFFIX = "（デモ）"
DEMO_NOTE = "※デモ用の架空のお手伝いです。実際の募集ではありません。"
DOMAIN = "demo.furusato.jp"

HIDA, CHIZU, AMA = "212172", "313289", "325252"
MITOYO, SHIMOKITAYAMA, NISHIAWAKURA, TONO = "372081", "294501", "336432", "032085"

# Staff of the towns load_demo_accounts has no staff for: (e-mail, 姓, 名, code).
BOARD_STAFF = [
    (f"mitoyo@{DOMAIN}", "三豊", "市職員", MITOYO),
    (f"shimokitayama@{DOMAIN}", "下北山", "村職員", SHIMOKITAYAMA),
    (f"nishiawakura@{DOMAIN}", "西粟倉", "村職員", NISHIAWAKURA),
    (f"tono@{DOMAIN}", "遠野", "市職員", TONO),
]
# Who acts for each town (e-mail), and the host.
STAFF = {
    HIDA: f"hida@{DOMAIN}",
    CHIZU: f"chizu@{DOMAIN}",
    AMA: f"ama@{DOMAIN}",
    **{code: email for email, _family, _given, code in BOARD_STAFF},
}
HOST = f"host@{DOMAIN}"
RESIDENT = f"resident@{DOMAIN}"
HOST_APPLICATION = (
    HIDA,
    "山田農園（デモ）",
    "飛騨市の山あいで米と野菜を作っています。高齢化で田んぼの草刈りや冬の雪かきの人手が足りず、"
    "市外の方にも手伝っていただけたらと思い、ヌシに申し込みます。",
)

# Demo participants who hold the sign-ups (they can log in with the demo password as well):
# (key, 姓, 名, home municipality, birth year).
PARTICIPANTS = [
    ("p01", "鈴木", "健太", "131041", 1992),  # 新宿区
    ("p02", "高橋", "結衣", "141003", 1997),  # 横浜市
    ("p03", "田中", "誠", "231002", 1975),  # 名古屋市
    ("p04", "伊藤", "陽菜", "271004", 2001),  # 大阪市
    ("p05", "渡辺", "浩", "131130", 1963),  # 渋谷区
    ("p06", "中村", "葵", "401307", 1989),  # 福岡市
    ("p07", "小林", "翔太", "011002", 1994),  # 札幌市
    ("p08", "加藤", "裕子", "261009", 1970),  # 京都市
]


def participant_email(key: str) -> str:
    return f"participant-{key}@{DOMAIN}"


TRAVEL = "現地までの交通費（往復）は参加者の負担です。"
NO_COST = "参加費はかかりません。オンラインのため交通費もかかりません。"


@dataclass
class DemoTask:
    """A task of the demo board and what happens to it.

    ``sessions``: (days after the board's first Saturday, start "HH:MM", end "HH:MM",
    capacity). ``signups``: (session index, person key) in the order they sign up;
    ``cancels``, ``accepts``: person keys. ``past``: the task happened ``past`` days ago:
    ``attended``/``no_show`` are marked, ``thanks`` left, ``report`` published.
    """

    code: str
    by: str  # "staff" or "host"
    title: str
    category: str
    description: str
    reward: str
    sessions: list[tuple[int, str, str, int]]
    host_message: str = ""
    schedule: str = ""
    skills: list[str] = field(default_factory=list)
    is_online: bool = False
    address: str = ""
    minimum_age: int | None = None
    what_to_bring: str = ""
    conditions: str = ""
    participant_costs: str = TRAVEL
    weather_policy: str = ""
    signup_mode: str = SignupMode.FIRST_COME
    signup_close_hours: int = 48
    cancel_close_hours: int = 48
    confirm_window_hours: int | None = None
    designated: bool = False
    host_name: str = ""
    submit_only: bool = False  # left in review for the town's staff
    signups: list[tuple[int, str]] = field(default_factory=list)
    accepts: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    past: int | None = None
    attended: list[str] = field(default_factory=list)
    no_show: list[str] = field(default_factory=list)
    thanks: dict[str, str] = field(default_factory=dict)
    report: str = ""


def seasonal_tasks(month: int) -> list[DemoTask]:
    """The farm and forest work of the season the demo is loaded in."""
    if month in (12, 1, 2):
        hida = DemoTask(
            code=HIDA,
            by="host",
            title="一人暮らしのお年寄りの家の雪かき",
            category=Category.WELFARE,
            description=(
                "山あいの集落で、一人暮らしのお年寄りの家の玄関先と通路、車庫の前の雪かきを"
                "します。屋根には上がりません。スコップとスノーダンプを使った地上の作業です。"
                "作業のあとは、お宅でお茶をいただきながらお話しするのも大切な時間です。"
            ),
            host_message=(
                "冬は朝から雪かきで一日が終わります。若い人の手があると、"
                "お年寄りが安心して冬を越せます。雪国の暮らしを体験しに来てください。"
            ),
            schedule="9:00 集合・道具の説明／9:30 雪かき（休憩をはさみます）／12:00 昼食・解散",
            skills=[Skill.PHYSICAL],
            address="岐阜県飛騨市宮川町（集合場所は参加が決まった方にお知らせします）",
            minimum_age=18,
            what_to_bring="防寒着、防水の手袋、長靴（スノーブーツ）、着替え",
            reward="飛騨牛のしぐれ煮が入った手づくりの昼食と、地元の漬物のおみやげ",
            conditions="雪道を運転して来る方は、冬用タイヤを必ず装着してください。",
            weather_policy="大雪警報のときは中止し、前日の17時までにお知らせします。",
            designated=True,
            sessions=[(0, "09:00", "12:30", 8), (7, "09:00", "12:30", 8)],
            signups=[(0, "resident"), (0, "p01"), (0, "p02"), (1, "p03")],
        )
        chizu_title = "杉林の雪起こし（雪で倒れた若木を起こす作業）"
        chizu_description = (
            "雪の重みで倒れかけた杉の若木を、ロープで起こして支柱に結びます。"
            "森林組合の職員が一緒に作業し、道具の使い方から教えます。"
        )
    elif month in (3, 4, 5):
        hida = DemoTask(
            code=HIDA,
            by="host",
            title="棚田の田植えのお手伝い",
            category=Category.FARMING,
            description=(
                "山あいの棚田で田植えをします。機械の入らない小さな田んぼは手植えです。"
                "苗の運び方、植え方はその場でお教えします。泥だらけになって楽しみましょう。"
            ),
            host_message=(
                "先祖から受け継いだ棚田を、なんとか次の世代に残したいと思っています。"
                "田植えは人手がいちばん要る作業です。どうか力を貸してください。"
            ),
            schedule="9:00 集合・説明／9:30 田植え／12:00 昼食／13:00 田植え／15:00 解散",
            skills=[Skill.FARMWORK, Skill.PHYSICAL],
            address="岐阜県飛騨市宮川町（集合場所は参加が決まった方にお知らせします）",
            what_to_bring="汚れてもよい服、着替え、タオル、帽子、飲み物（田植え足袋は貸します）",
            reward="飛騨牛の朴葉みそ焼きの昼食と、秋にとれる新米2kg（後日お送りします）",
            weather_policy="小雨なら行います。大雨のときは前日の17時までに中止をお知らせします。",
            designated=True,
            sessions=[(0, "09:00", "15:00", 8), (7, "09:00", "15:00", 8)],
            signups=[(0, "resident"), (0, "p01"), (0, "p02"), (1, "p03")],
        )
        chizu_title = "杉林の下草刈りの準備と作業道の整備"
        chizu_description = (
            "夏の下草刈りに向けて、作業道に落ちた枝を取り除き、ぬかるみに砂利を入れます。"
            "森林組合の職員が一緒に作業し、道具の使い方から教えます。"
        )
    elif month in (6, 7, 8):
        hida = DemoTask(
            code=HIDA,
            by="host",
            title="棚田のあぜの草刈り",
            category=Category.FARMING,
            description=(
                "夏の棚田は草の伸びるのが早く、あぜの草刈りが追いつきません。"
                "草刈機での刈り取りと、刈った草を集める作業をお願いします。"
                "草刈機を使ったことのない方には、使い方と安全の注意から説明します。"
            ),
            host_message=(
                "先祖から受け継いだ棚田を、なんとか次の世代に残したいと思っています。"
                "草刈りをしておかないと、稲の病気や虫の害が増えてしまいます。"
            ),
            schedule="8:00 集合・説明／8:30 草刈り（こまめに休憩）／11:30 昼食・解散",
            skills=[Skill.FARMWORK, Skill.PHYSICAL],
            address="岐阜県飛騨市宮川町（集合場所は参加が決まった方にお知らせします）",
            minimum_age=18,
            what_to_bring="長袖・長ズボン、帽子、軍手、飲み物、タオル（草刈機と防護めがねは貸します）",
            reward="飛騨牛の朴葉みそ焼きの昼食と、とれたての夏野菜",
            weather_policy="雨の日は中止し、前日の17時までにお知らせします。",
            designated=True,
            sessions=[(0, "08:00", "12:00", 8), (7, "08:00", "12:00", 8)],
            signups=[(0, "resident"), (0, "p01"), (0, "p02"), (1, "p03")],
        )
        chizu_title = "杉林の下草刈り"
        chizu_description = (
            "植えて数年の杉の苗木が草に負けないよう、まわりの下草を刈ります。"
            "森林組合の職員が一緒に作業し、鎌の使い方から教えます。"
        )
    else:
        hida = DemoTask(
            code=HIDA,
            by="host",
            title="棚田の稲刈りとはざ掛け",
            category=Category.FARMING,
            description=(
                "山あいの棚田で稲刈りをして、刈った稲を束ねて「はざ」に掛けて干します。"
                "機械の入らない小さな田んぼは手刈りです。鎌の使い方はその場でお教えします。"
            ),
            host_message=(
                "先祖から受け継いだ棚田を、なんとか次の世代に残したいと思っています。"
                "はざ掛けで天日干しにしたお米は格別です。"
            ),
            schedule="9:00 集合・説明／9:30 稲刈り／12:00 昼食／13:00 はざ掛け／15:00 解散",
            skills=[Skill.FARMWORK, Skill.PHYSICAL],
            address="岐阜県飛騨市宮川町（集合場所は参加が決まった方にお知らせします）",
            what_to_bring="汚れてもよい服、長靴、軍手、帽子、飲み物（鎌は貸します）",
            reward="飛騨牛の朴葉みそ焼きの昼食と、はざ掛け米の新米2kg",
            weather_policy="雨の日は翌週の同じ曜日に延期し、前日の17時までにお知らせします。",
            designated=True,
            sessions=[(0, "09:00", "15:00", 8), (7, "09:00", "15:00", 8)],
            signups=[(0, "resident"), (0, "p01"), (0, "p02"), (1, "p03")],
        )
        chizu_title = "杉林の間伐材の搬出"
        chizu_description = (
            "間伐して林に置いたままの杉の丸太を、作業道まで運び出します。"
            "森林組合の職員が一緒に作業し、道具の使い方から教えます。"
        )
    chizu = DemoTask(
        code=CHIZU,
        by="staff",
        title=chizu_title,
        category=Category.FARMING,
        description=chizu_description
        + "町の面積の9割が山林です。手入れの行き届いた森を、一緒に次の世代へ残しませんか。",
        host_message="林業の担い手が減り、手の入らない山が増えています。",
        schedule="8:30 森林組合の事務所に集合／9:00 作業／12:00 昼食／15:00 解散",
        skills=[Skill.PHYSICAL],
        address="鳥取県八頭郡智頭町（集合は町内の森林組合の事務所）",
        minimum_age=18,
        what_to_bring="作業しやすい長袖・長ズボン、登山靴か長靴、軍手、雨具（ヘルメットは貸します）",
        reward="地元の食材の昼食と、智頭杉のコースター",
        conditions="山の斜面を歩きます。体力に自信のある方向けです。",
        weather_policy="雨の日は中止し、前日の15時までにお知らせします。",
        sessions=[(1, "08:30", "15:00", 3), (15, "08:30", "15:00", 3)],
        signups=[(0, "p01"), (0, "p02"), (0, "p03"), (0, "p04"), (0, "p05"), (1, "p06")],
    )
    return [hida, chizu]


def demo_tasks(month: int) -> list[DemoTask]:
    hida_seasonal, chizu_seasonal = seasonal_tasks(month)
    return [
        # --- 飛騨市 -------------------------------------------------------------------
        hida_seasonal,
        DemoTask(
            code=HIDA,
            by="host",
            title="古民家の蔵の片付けと古い道具の整理",
            category=Category.COMMUNITY,
            description=(
                "空き家になった古民家の蔵を片付けます。古い農具や食器、書き物が眠っています。"
                "捨てるもの、残すもの、地域の資料館に相談するものに分けて運び出します。"
                "古いものを丁寧に扱える方を、ヌシが選ばせていただきます（承認制）。"
            ),
            host_message="祖父母の家を、いつか人が集まれる場所にしたいと思っています。",
            schedule="9:00 集合／9:30 片付け／12:00 昼食／13:00 仕分け／16:00 解散",
            skills=[Skill.PHYSICAL, Skill.CARPENTRY],
            address="岐阜県飛騨市古川町",
            what_to_bring="汚れてもよい服、軍手、マスク",
            reward="地元の和菓子店のお菓子と、蔵から出てきた器を一つお持ち帰りいただけます",
            conditions="ほこりの多い作業です。アレルギーのある方はご注意ください。",
            signup_mode=SignupMode.APPROVAL,
            sessions=[(1, "09:00", "16:00", 4), (8, "09:00", "16:00", 4)],
            signups=[(0, "p04"), (0, "p05"), (1, "p06")],
            accepts=["p05"],
        ),
        DemoTask(
            code=HIDA,
            by="staff",
            title="地区のお祭りの準備と片付け",
            category=Category.FESTIVALS,
            description=(
                "地区の神社のお祭りに向けて、のぼり旗を立て、提灯を吊るし、屋台の骨組みを組みます。"
                "祭りのあとの片付けまでお願いします。地区の人と一緒の作業です。"
            ),
            host_message="地区の人口が減り、祭りの準備をする人が足りなくなっています。",
            schedule="8:00 公民館に集合／8:30 準備／12:00 昼食／13:00 準備の続き／16:00 解散",
            skills=[Skill.PHYSICAL, Skill.EVENT],
            address="岐阜県飛騨市古川町（地区の公民館）",
            what_to_bring="動きやすい服、軍手、飲み物",
            reward="飛騨牛の朴葉みそ焼きの昼食と、祭りの日の振る舞い酒（20歳以上の方）",
            weather_policy="小雨なら行います。",
            host_name="飛騨市 地域振興課",
            sessions=[(14, "08:00", "16:00", 10)],
            signups=[(0, "p01"), (0, "p02"), (0, "p04"), (0, "p05")],
        ),
        DemoTask(
            code=HIDA,
            by="staff",
            title="古い町並みの観光案内（英語・中国語）",
            category=Category.TOURISM,
            description=(
                "白壁土蔵の町並みを歩く海外からの旅行者に、町の歴史や見どころを案内します。"
                "案内の内容は市の観光担当が事前にお渡しします。英語か中国語で会話ができる方を"
                "募集します。"
            ),
            schedule="10:00 観光案内所に集合・打ち合わせ／10:30 案内／15:00 振り返り・解散",
            skills=[Skill.TRANSLATION],
            address="岐阜県飛騨市古川町（観光案内所）",
            reward="地域通貨のポイント2,000円分（市内の加盟店で使えます）と昼食",
            conditions="日常会話程度の英語または中国語ができること。",
            sessions=[
                (0, "10:00", "15:00", 2),
                (7, "10:00", "15:00", 2),
                (21, "10:00", "15:00", 2),
            ],
            signups=[(1, "p07")],
        ),
        DemoTask(
            code=HIDA,
            by="host",
            title="朴葉みそづくりの仕込みのお手伝い",
            category=Category.FESTIVALS,
            description=(
                "飛騨の郷土料理、朴葉みその仕込みをします。朴の葉を洗って乾かし、"
                "みそに薬味を合わせます。仕上がったものは道の駅で販売します。"
            ),
            address="岐阜県飛騨市宮川町",
            reward="できあがった朴葉みそのセット",
            sessions=[(22, "10:00", "15:00", 5)],
            submit_only=True,
        ),
        DemoTask(
            code=HIDA,
            by="staff",
            title="広葉樹の森の植樹と下草刈り",
            category=Category.ENVIRONMENT,
            description=(
                "市の森に、ミズナラやトチノキなど地元の広葉樹の苗木を植え、まわりの下草を刈ります。"
                "家具や器に使える木が育つ森を、何十年もかけてつくる取り組みです。"
            ),
            host_message="広葉樹の森を育て、地元の木で家具をつくる町を目指しています。",
            schedule="9:00 集合・説明／9:30 植樹／12:00 昼食／13:00 下草刈り／15:00 解散",
            skills=[Skill.PHYSICAL],
            address="岐阜県飛騨市河合町",
            what_to_bring="長袖・長ズボン、軍手、帽子、飲み物",
            reward="地元のお母さんたちの手づくり弁当と、広葉樹の端材でつくった箸",
            designated=True,
            host_name="飛騨市 林業振興課",
            sessions=[(3, "09:00", "15:00", 10)],
            signups=[(0, "resident"), (0, "p01"), (0, "p02"), (0, "p03"), (0, "p06")],
            past=12,
            attended=["resident", "p01", "p02", "p06"],
            no_show=["p03"],
            thanks={
                "resident": "初めての植樹でしたが、丁寧に教えていただきました。"
                "何十年後かに、この森の木の器を使ってみたいです。",
                "p01": "お弁当がとてもおいしかったです。また参加します。",
            },
            report=(
                "市内外から4人の方が参加し、ミズナラとトチノキの苗木を60本植えました。"
                "午後は去年植えた苗木のまわりの下草を刈り、鹿よけのネットを点検しました。"
                "参加者からは「木が育つのを見に、また来たい」という声をいただきました。"
                "次回は来年の春に予定しています。"
            ),
        ),
        # --- 智頭町 -------------------------------------------------------------------
        chizu_seasonal,
        DemoTask(
            code=CHIZU,
            by="host",
            title="空き家の片付けと移住体験住宅の準備",
            category=Category.COMMUNITY,
            description=(
                "町が借りた空き家を、移住を考えている人が泊まれる体験住宅にします。"
                "残っている家財を運び出し、畳を上げて掃除し、障子を張り替えます。"
            ),
            host_message="空き家を、町に来る人と町の人が出会う場所にしたいと思っています。",
            schedule="9:00 集合／9:30 片付け／12:00 昼食／13:00 掃除・障子張り／16:00 解散",
            skills=[Skill.PHYSICAL, Skill.CARPENTRY],
            address="鳥取県八頭郡智頭町",
            what_to_bring="汚れてもよい服、軍手、マスク",
            reward="智頭町の地元食材を使った昼食と、町の宿泊施設の割引券",
            confirm_window_hours=24,
            sessions=[(2, "09:00", "16:00", 4), (9, "09:00", "16:00", 4)],
            signups=[
                (0, "p06"),
                (0, "p07"),
                (0, "p08"),
                (0, "p02"),
                (0, "resident"),
                (0, "p01"),
                (1, "p03"),
            ],
            cancels=["p07"],
        ),
        DemoTask(
            code=CHIZU,
            by="staff",
            title="森の保育の見守りのお手伝い",
            category=Category.EDUCATION,
            description=(
                "園舎を持たず、森で一日を過ごす保育の活動で、子どもたちの見守りを手伝います。"
                "遊びを教える必要はありません。子どもたちが安全に過ごせるよう、保育者と"
                "一緒にそばにいてください。"
            ),
            schedule="9:30 集合・説明／10:00 森での見守り／13:30 振り返り・解散",
            skills=[Skill.CHILDCARE],
            address="鳥取県八頭郡智頭町",
            minimum_age=18,
            what_to_bring="汚れてもよい服、雨具、長靴、お弁当",
            reward="智頭町の森林セラピーのガイドつき散策（後日、ご希望の日に）",
            conditions="子どもと関わる活動のため、初めての方は事前にオンラインで面談します。",
            sessions=[
                (3, "09:30", "13:30", 2),
                (5, "09:30", "13:30", 2),
                (10, "09:30", "13:30", 2),
            ],
            signups=[(0, "p08")],
        ),
        DemoTask(
            code=CHIZU,
            by="staff",
            title="大雨に備える土のうづくりと防災倉庫の点検",
            category=Category.DISASTER,
            description=(
                "川沿いの集落で、大雨に備えて土のうをつくり、防災倉庫の備品を点検します。"
                "消防団の団員と一緒の作業です。集落の避難経路も一緒に歩いて確かめます。"
            ),
            schedule="9:00 集合／9:15 土のうづくり／11:00 倉庫の点検と避難経路の確認／12:00 解散",
            skills=[Skill.PHYSICAL],
            address="鳥取県八頭郡智頭町",
            what_to_bring="動きやすい服、軍手、飲み物",
            reward="町の特産品（杉の木工品や地元のお米）の詰め合わせ",
            host_name="智頭町 総務課（防災担当）",
            sessions=[(8, "09:00", "12:00", 12)],
            signups=[(0, "p04"), (0, "p05")],
        ),
        # --- 海士町 -------------------------------------------------------------------
        DemoTask(
            code=AMA,
            by="staff",
            title="島の観光パンフレットの英語翻訳（オンライン）",
            category=Category.DIGITAL,
            description=(
                "島の観光パンフレット（A4で8ページ）を英語に訳します。オンラインで集まり、"
                "担当するページを分けて訳し、2回目で読み合わせて表現をそろえます。"
                "原稿は共有フォルダでお渡しします。"
            ),
            schedule="1回目 20:00 説明と分担／2回目 20:00 読み合わせ（間の作業は各自で）",
            skills=[Skill.TRANSLATION, Skill.WRITING],
            is_online=True,
            reward="島の特産品（干物やさざえカレーなど）の詰め合わせを後日お送りします",
            participant_costs=NO_COST,
            conditions="ビデオ会議に参加できるパソコンと通信環境があること。",
            sessions=[(4, "20:00", "21:30", 3), (11, "20:00", "21:30", 3)],
            signups=[(0, "p07"), (0, "p08")],
        ),
        DemoTask(
            code=AMA,
            by="staff",
            title="海岸の漂着ごみ拾い",
            category=Category.ENVIRONMENT,
            description=(
                "季節風や潮の流れで島の海岸に流れ着いたごみを拾い、分別して運び出します。"
                "島の人と一緒に、海岸を歩きながらの作業です。"
            ),
            schedule="9:00 港に集合／9:30 ごみ拾い／11:30 分別／12:00 昼食・解散",
            address="島根県隠岐郡海士町",
            what_to_bring="汚れてもよい服、長靴、軍手、飲み物",
            reward="島の食材の昼食（漁師さんのまかないの海鮮丼）",
            participant_costs="本土から島までのフェリー代と宿泊費は参加者の負担です。",
            weather_policy="フェリーが欠航したとき、海が荒れているときは中止します。",
            sessions=[(0, "09:00", "12:30", 20), (14, "09:00", "12:30", 20)],
            signups=[(0, "p03"), (0, "p06"), (1, "p08")],
        ),
        DemoTask(
            code=AMA,
            by="staff",
            title="島の高校生のキャリア相談（オンライン）",
            category=Category.EDUCATION,
            description=(
                "島の高校で学ぶ生徒たちと、オンラインで進路や仕事について話します。"
                "自分の仕事や学生時代のことを、生徒の質問に答える形でお話しください。"
            ),
            skills=[Skill.WRITING],
            is_online=True,
            reward="生徒たちからのお礼の手紙と、島の特産品",
            participant_costs=NO_COST,
            sessions=[(5, "16:00", "17:30", 5), (12, "16:00", "17:30", 5)],
        ),
        # --- 三豊市 -------------------------------------------------------------------
        DemoTask(
            code=MITOYO,
            by="staff",
            title="父母ヶ浜の早朝清掃",
            category=Category.ENVIRONMENT,
            description=(
                "夕日と「天空の鏡」で知られる浜を、朝のうちに清掃します。"
                "流れ着いた木やプラスチックを拾い、分別します。"
            ),
            schedule="7:00 集合／7:15 清掃／8:30 解散",
            address="香川県三豊市仁尾町",
            what_to_bring="帽子、軍手、飲み物",
            reward="地元のパン屋さんの朝ごはん",
            weather_policy="雨の日は中止します。",
            sessions=[(1, "07:00", "08:30", 15), (8, "07:00", "08:30", 15)],
            signups=[(0, "p04")],
        ),
        DemoTask(
            code=MITOYO,
            by="staff",
            title="空き家のリノベーション（壁塗り・床張り）",
            category=Category.COMMUNITY,
            description=(
                "地元の企業が空き家を改修し、シェアオフィスにします。しっくいの壁塗りと、"
                "杉板の床張りを大工さんと一緒に行います。DIYの経験は問いません。"
            ),
            schedule="9:00 集合・説明／9:30 作業／12:00 昼食／13:00 作業／16:00 解散",
            skills=[Skill.CARPENTRY],
            address="香川県三豊市詫間町",
            what_to_bring="汚れてもよい服、軍手",
            reward="讃岐うどんの昼食と、完成後のシェアオフィスの1日利用券",
            sessions=[(0, "09:00", "16:00", 6), (1, "09:00", "16:00", 6), (7, "09:00", "16:00", 6)],
            signups=[(1, "p07"), (2, "p06")],
        ),
        DemoTask(
            code=MITOYO,
            by="staff",
            title="お年寄り向けスマホ教室のサポート",
            category=Category.WELFARE,
            description=(
                "地域の集会所で開くスマートフォン教室で、お年寄りの隣に座って操作を手伝います。"
                "乗り合いタクシーの予約や、家族とのビデオ通話の練習をします。"
            ),
            skills=[Skill.WEB, Skill.CARE],
            address="香川県三豊市高瀬町（地域の集会所）",
            reward="地元の農産物直売所の野菜の詰め合わせ",
            sessions=[(4, "13:30", "15:30", 4), (18, "13:30", "15:30", 4)],
        ),
        # --- 下北山村 -----------------------------------------------------------------
        DemoTask(
            code=SHIMOKITAYAMA,
            by="staff",
            title="村の情報サイトの記事づくり（オンライン）",
            category=Category.DIGITAL,
            description=(
                "村の暮らしや行事を伝えるウェブサイトの記事を書き、写真を選んでページを"
                "つくります。オンラインで村の人に話を聞き、記事にまとめます。"
            ),
            skills=[Skill.WEB, Skill.WRITING, Skill.PHOTO_VIDEO],
            is_online=True,
            reward="村の特産品（下北春まなの漬物など）の詰め合わせを後日お送りします",
            participant_costs=NO_COST,
            sessions=[(3, "19:30", "21:00", 4), (10, "19:30", "21:00", 4)],
            signups=[(0, "p02")],
        ),
        DemoTask(
            code=SHIMOKITAYAMA,
            by="staff",
            title="休耕地での野菜づくり（畝づくり・種まき）",
            category=Category.FARMING,
            description=(
                "使われなくなった畑をもう一度耕し、畝をつくって野菜の種をまきます。"
                "村の人と都市部の学生が一緒に始めた畑です。"
            ),
            schedule="9:00 集合／9:30 畑仕事／12:00 昼食・解散",
            skills=[Skill.FARMWORK],
            address="奈良県吉野郡下北山村",
            what_to_bring="汚れてもよい服、長靴、軍手、帽子",
            reward="畑でとれた野菜（収穫の時期にお送りします）と昼食",
            participant_costs=TRAVEL + "村内の宿泊施設に泊まる方は宿泊費も負担です。",
            sessions=[(15, "09:00", "12:00", 8)],
            signups=[(0, "p03")],
        ),
        # --- 西粟倉村 -----------------------------------------------------------------
        DemoTask(
            code=NISHIAWAKURA,
            by="staff",
            title="間伐の見学と薪割り",
            category=Category.FARMING,
            description=(
                "林業家の間伐作業を見学し、出た木を玉切りして薪を割ります。"
                "割った薪は村の温泉施設のボイラーで使われます。"
            ),
            schedule="9:00 集合／9:30 間伐の見学／11:00 薪割り／15:00 解散",
            skills=[Skill.PHYSICAL],
            address="岡山県英田郡西粟倉村",
            minimum_age=18,
            what_to_bring="作業しやすい服、安全靴か登山靴、軍手",
            reward="村の温泉の入浴券と、地元の木でつくったまな板",
            sessions=[(7, "09:00", "15:00", 5)],
            signups=[(0, "p01"), (0, "p02"), (0, "p04"), (0, "p05"), (0, "p08"), (0, "p03")],
        ),
        # --- 遠野市 -------------------------------------------------------------------
        DemoTask(
            code=TONO,
            by="staff",
            title="昔話の語りの文字起こし（オンライン）",
            category=Category.FESTIVALS,
            description=(
                "語り部の方が語る昔話の録音を聞いて、方言のまま文字に起こします。"
                "1回目に聞き取りのこつを説明し、2回目までに各自で作業します。"
            ),
            skills=[Skill.WRITING],
            is_online=True,
            reward="文字起こしした昔話を収めた冊子（完成後にお送りします）",
            participant_costs=NO_COST,
            sessions=[(6, "20:00", "21:00", 6), (13, "20:00", "21:00", 6)],
            signups=[(0, "p05")],
        ),
        DemoTask(
            code=TONO,
            by="staff",
            title="郷土の古い写真の整理とスキャン",
            category=Category.OTHER,
            description=(
                "市民から寄せられた古い写真を年代と場所ごとに整理し、スキャンして"
                "データにします。写真に写っている場所を地元の方に聞き取ることもあります。"
            ),
            skills=[Skill.OFFICE, Skill.PHOTO_VIDEO],
            address="岩手県遠野市",
            reward="地元の農家レストランの昼食",
            sessions=[(9, "10:00", "15:00", 3)],
        ),
    ]


def _at(day: datetime.date, hhmm: str) -> datetime.datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def first_saturday(today: datetime.date) -> datetime.date:
    """The board's day 0: the first Saturday at least five days away, so that every
    session is still open for sign-ups when the demo is loaded."""
    day = today + datetime.timedelta(days=5)
    return day + datetime.timedelta(days=(5 - day.weekday()) % 7)


def _shift_into_past(task: Task, days: int) -> None:
    """Move the task's sessions, sign-ups and its own dates ``days`` days before now, as
    time passing would (the services schedule nothing in the past)."""
    first = Session.objects.filter(task=task).aggregate(first=Min("starts_at"))["first"]
    target = timezone.localtime() - datetime.timedelta(days=days)
    delta = datetime.timedelta(days=(timezone.localtime(first).date() - target.date()).days)
    for session in Session.objects.filter(task=task):
        Session.objects.filter(pk=session.pk).update(
            starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
        )
        Signup.objects.filter(session=session).update(
            starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
        )
    for signup in Signup.objects.filter(session__task=task):
        Signup.objects.filter(pk=signup.pk).update(
            created_at=signup.created_at - delta,
            confirmed_at=signup.confirmed_at - delta if signup.confirmed_at else None,
        )
    dates = Session.objects.filter(task=task, status=SessionStatus.SCHEDULED).aggregate(
        first=Min("starts_at"), last=Max("ends_at"), last_start=Max("starts_at")
    )
    Task.objects.filter(pk=task.pk).update(
        created_at=task.created_at - delta,
        updated_at=task.updated_at - delta,
        published_at=task.published_at - delta if task.published_at else None,
        starts_at=dates["first"],
        ends_at=dates["last"],
        signup_closes_at=dates["last_start"] - datetime.timedelta(hours=task.signup_close_hours),
    )


class Command(BaseCommand):
    help = (
        "Fill the board with demo tasks in 飛騨市, 智頭町, 海士町, 三豊市, 下北山村, 西粟倉村 "
        "and 遠野市, with sign-ups and a completed task (refused where "
        "FURUSATO_DEMO_CONTENT_ALLOWED is off). Run after load_demo_accounts."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo content is not allowed here (production settings).")
        codes = {task.code for task in demo_tasks(1)} | {p[3] for p in PARTICIPANTS}
        towns = Municipality.objects.in_bulk(codes)
        if len(towns) != len(codes):
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        needed = [STAFF[HIDA], STAFF[CHIZU], STAFF[AMA], HOST, RESIDENT]
        people = {user.email: user for user in User.objects.filter(email__in=needed)}
        if len(people) != len(needed):
            raise CommandError("Create the demo accounts first: manage.py load_demo_accounts")
        counts = {"tasks": 0, "signups": 0}
        with transaction.atomic():
            people.update(self._board_staff(towns))
            self._host(people, towns)
            participants = self._participants(towns)
            participants["resident"] = people[RESIDENT]
            for spec in demo_tasks(timezone.localdate().month):
                made = self._task(spec, people, participants, towns)
                if made is not None:
                    counts["tasks"] += 1
                    counts["signups"] += made
        self.stdout.write(
            self.style.SUCCESS(
                "Demo board ready: {tasks} tasks and {signups} sign-ups added.".format(**counts)
            )
        )

    # --- People -----------------------------------------------------------------------

    def _account(self, email: str, family: str, given: str) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"family_name": family, "given_name": given}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _board_staff(self, towns: dict[str, Municipality]) -> dict[str, User]:
        """Editors for the towns load_demo_accounts has no staff for."""
        staff = {}
        for email, family, given, code in BOARD_STAFF:
            user = self._account(email, family, given)
            if not Membership.objects.filter(
                user=user, role=Role.MUNICIPALITY_EDITOR, municipality_id=code
            ).exists():
                membership_grant(user=user, role=Role.MUNICIPALITY_EDITOR, municipality=towns[code])
            demo_second_factor_give(user=user)  # staff need one; the README publishes it
            staff[email] = user
        return staff

    def _host(self, people: dict[str, User], towns: dict[str, Municipality]) -> None:
        """The demo host applies to host for 飛騨市 as well; its staff approve."""
        code, organisation, message = HOST_APPLICATION
        host = people[HOST]
        if staff_scope(user=host).hosts_for(code):
            return
        application = HostApplication.objects.filter(
            person=host, municipality_id=code, status=HostApplicationStatus.PENDING
        ).first() or services.host_apply(
            person=host, municipality=towns[code], organisation=organisation, message=message
        )
        services.host_application_decide(
            application=application,
            actor=people[STAFF[code]],
            approve=True,
            note="ようこそ。最初のお手伝いの募集は、市の担当が一緒に考えます。",
        )
        staff_scope_forget(user=host)  # the scope cached on this object predates the role

    def _participants(self, towns: dict[str, Municipality]) -> dict[str, User]:
        participants = {}
        for key, family, given, home, born in PARTICIPANTS:
            user = self._account(participant_email(key), family, given)
            profile = registry_services.profile_of(user)
            if profile.birth_year is None:
                registry_services.profile_update(
                    user=user, home_municipality=towns[home], birth_year=born
                )
            participants[key] = user
        return participants

    # --- Tasks ------------------------------------------------------------------------

    def _task(
        self,
        spec: DemoTask,
        people: dict[str, User],
        participants: dict[str, User],
        towns: dict[str, Municipality],
    ) -> int | None:
        """Create one task as its spec says; the number of sign-ups, or None if it exists."""
        title = spec.title + DEMO_SUFFIX
        existing = Task.objects.filter(municipality_id=spec.code, title=title)
        if spec.past is None:
            # A copy whose sessions are all over is history: the board gets a fresh one.
            existing = existing.filter(ends_at__gt=timezone.now())
        if existing.exists():
            return None
        staff = people[STAFF[spec.code]]
        actor = people[HOST] if spec.by == "host" else staff
        day0 = first_saturday(timezone.localdate())
        sessions = [
            {
                "starts_at": _at(day0 + datetime.timedelta(days=days), start),
                "ends_at": _at(day0 + datetime.timedelta(days=days), end),
                "capacity": capacity,
            }
            for days, start, end, capacity in spec.sessions
        ]
        fields = {
            "title": title,
            "category": spec.category,
            "description": f"{spec.description}\n\n{DEMO_NOTE}",
            "host_message": spec.host_message,
            "schedule": spec.schedule,
            "skills": mask_of(Skill, spec.skills),
            "is_online": spec.is_online,
            "address": spec.address,
            "minimum_age": spec.minimum_age,
            "what_to_bring": spec.what_to_bring,
            "reward": spec.reward,
            "conditions": spec.conditions,
            "participant_costs": spec.participant_costs,
            "weather_policy": spec.weather_policy,
            "signup_mode": spec.signup_mode,
            "signup_close_hours": spec.signup_close_hours,
            "cancel_close_hours": spec.cancel_close_hours,
            "confirm_window_hours": spec.confirm_window_hours,
            "designated": spec.designated,
        }
        if spec.host_name:
            fields["host_name"] = spec.host_name + DEMO_SUFFIX
        task = services.task_create(
            actor=actor, municipality=towns[spec.code], sessions=sessions, **fields
        )
        if spec.by == "host":
            task = services.task_submit(task=task, actor=actor)
            if spec.submit_only:
                return 0
        task = services.task_publish(task=task, actor=staff)

        session_list = list(Session.objects.filter(task=task).order_by("starts_at", "id"))
        signups: dict[str, Signup] = {}
        for index, key in spec.signups:
            signups[key] = services.signup_create(
                session=session_list[index], person=participants[key]
            )
        for key in spec.accepts:
            services.signup_decide(signup=signups[key], actor=actor, accept=True)
        for key in spec.cancels:
            services.signup_cancel(signup=signups[key], actor=participants[key])

        if spec.past is not None:
            self._happened(task, spec, actor, participants, signups)
        return len(spec.signups)

    def _happened(
        self,
        task: Task,
        spec: DemoTask,
        actor: User,
        participants: dict[str, User],
        signups: dict[str, Signup],
    ) -> None:
        """The task took place ``spec.past`` days ago: attendance, thanks, the report."""
        _shift_into_past(task, spec.past)
        for key, attendance in [
            *((key, "attended") for key in spec.attended),
            *((key, "no_show") for key in spec.no_show),
        ]:
            services.attendance_mark(
                signup=Signup.objects.get(pk=signups[key].pk), actor=actor, attendance=attendance
            )
        for key, message in spec.thanks.items():
            services.signup_thank(
                signup=Signup.objects.select_related("session__task").get(pk=signups[key].pk),
                actor=participants[key],
                message=message,
            )
        task.refresh_from_db()
        task = services.task_complete(task=task, actor=actor)
        services.task_report_publish(task=task, actor=actor, report=spec.report)

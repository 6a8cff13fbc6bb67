"""What a generated board is made of (``board``): ALL the assumed shares, and the texts
of the tasks by category. Plausible, not measured."""

from __future__ import annotations

from places.models import MunicipalityKind
from registry.models import Category, Skill

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

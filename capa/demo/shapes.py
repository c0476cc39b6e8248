"""What generated records say: the words a children's-wear factory writes in its non-conformances, containments,
root causes and actions, per defect type, in Chinese (most of a factory's records) and in English (what an
export buyer's team writes). They follow the shapes of the product's stories: a loose snap on an infant romper,
a bib failing saliva fastness after a dye house changed its fixing agent, formaldehyde over the limit, a hood
drawstring on a toddler's jacket, a broken needle missing its fragment.

Plain data: no database, no Flask.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """The words of one defect type: titles (Chinese, English), containments, root causes (category, statement,
    whys) and corrective actions (kind, description, evidence)."""

    titles_zh: tuple[str, ...]
    titles_en: tuple[str, ...]
    containments: tuple[str, ...]
    root_causes: tuple[tuple[str, str, tuple[str, ...]], ...]
    actions: tuple[tuple[str, str, str], ...]


_GENERIC = Shape(
    titles_zh=("巡检发现外观不良",),
    titles_en=("Appearance defect found at inline inspection",),
    containments=("隔离在制品并全检本批次。", "Held the bundle and inspected the batch 100%."),
    root_causes=(
        (
            "method",
            "作业指导书未明确检验要求。",
            ("为何不良流出？未检出", "为何未检出？检验项目不明确", "为何不明确？作业指导书缺项"),
        ),
    ),
    actions=(("corrective", "修订作业指导书并培训员工。", "培训签到表已归档。"),),
)

SHAPES: dict[str, Shape] = {
    "loose_button": Shape(
        titles_zh=("婴儿连体衣按扣拉力不足", "纽扣松脱，拉力测试低于70N", "四合扣脱落"),
        titles_en=("Snap on infant romper fails 70 N pull test", "Loose button on toddler cardigan"),
        containments=(
            "隔离本批次，按扣逐件拉力测试。",
            "Held the batch; every snap pull-tested at 70 N for 10 s.",
        ),
        root_causes=(
            (
                "machine",
                "打扣机模具磨损，压力不稳定。",
                ("为何脱落？铆合不牢", "为何不牢？压力不足", "为何压力不足？模具磨损", "为何未发现？无点检记录"),
            ),
            (
                "method",
                "Snap setting pressure not checked at the start of each shift.",
                ("Why loose? Under-set snap", "Why under-set? Pressure drifted", "Why unnoticed? No start-up check"),
            ),
        ),
        actions=(
            ("corrective", "更换打扣机模具并每班首件拉力测试。", "首件拉力记录连续两周合格。"),
            (
                "preventive",
                "Add snap pull test to the line's start-up checklist.",
                "Checklist rev. 3 in use on all lines.",
            ),
        ),
    ),
    "colorfastness_failure": Shape(
        titles_zh=("围兜耐唾液色牢度不合格", "耐汗渍色牢度低于3级"),
        titles_en=("Bib fails saliva fastness (grade 2-3)", "Perspiration fastness below grade 3"),
        containments=("隔离相关染色批次面料及成衣。", "Held the fabric dye lot and the finished bibs."),
        root_causes=(
            (
                "material",
                "染厂擅自更换固色剂，未通知。",
                ("为何褪色？固色不足", "为何固色不足？固色剂更换", "为何未发现？染厂未通知变更"),
            ),
        ),
        actions=(
            ("scar", "向染厂发出供应商纠正措施要求。", "染厂回复8D并恢复原固色剂。"),
            ("standard_revision", "更新来料检验规程：每个染批测试耐唾液色牢度。", "来料检验规程 QP-07 第4版。"),
        ),
    ),
    "formaldehyde_over_limit": Shape(
        titles_zh=("甲醛含量超标（A类）", "甲醛检测结果超过20 mg/kg"),
        titles_en=("Formaldehyde over the category A limit",),
        containments=("本批次放置待处理区，停止出货。", "Shipment stopped; batch in quarantine."),
        root_causes=(("material", "整理剂含甲醛树脂。", ("为何超标？整理剂含甲醛", "为何使用？采购未指定无醛整理剂")),),
        actions=(("corrective", "改用无醛整理剂，复测合格后放行。", "复测报告甲醛未检出。"),),
    ),
    "drawstring_non_compliant": Shape(
        titles_zh=("7岁以下童装帽绳不符合GB 31701", "腰部绳带超长"),
        titles_en=("Hood drawstring on toddler jacket", "Waist cord longer than allowed"),
        containments=("拆除帽绳并复检所有在库成品。", "Removed hood cords from all stock."),
        root_causes=(("method", "纸样未按年龄段区分绳带要求。", ("为何有帽绳？纸样沿用成人款",)),),
        actions=(("standard_revision", "修订纸样审核清单，增加绳带检查。", "纸样审核清单第2版。"),),
    ),
    "needle_or_metal_found": Shape(
        titles_zh=("断针碎片未找回", "验针机报警"),
        titles_en=("Broken needle fragment missing", "Metal detector alarm on finished garment"),
        containments=("隔离该扎货品过验针机。", "Bundle isolated and passed through the metal detector."),
        root_causes=(("man", "断针后未按断针管理规定登记。", ("为何未找回？未立即停机搜索",)),),
        actions=(("training", "断针管理规定再培训。", "全线员工培训签到。"),),
    ),
}


def shape_of(defect_code: str) -> Shape:
    """The words for a defect type; types without words of their own get the generic ones."""
    return SHAPES.get(defect_code, _GENERIC)


LINE_NAMES = ("缝制{n}线", "Sewing line {n}")
SUPPLIER_NAMES = ("{city}纺织有限公司", "{city}辅料厂", "{city}印染厂")
CITIES = ("绍兴", "佛山", "湖州", "嘉兴", "南通", "石狮", "中山", "宁波", "苏州", "无锡")
STYLE_NAMES = ("婴儿连体衣", "儿童卫衣", "围兜", "幼儿外套", "儿童睡衣", "T恤", "连衣裙", "Baby romper", "Kids hoodie")
REVIEW_COMMENTS = ("根本原因分析充分。", "Root cause confirmed by the line audit.", "")
CLOSING_NOTES = ("连续两周未再发生。", "No recurrence in two weeks of inline checks.")
CANCEL_REASONS = ("重复登记。", "Filed twice from the phone.")
RETURN_COMMENT = "请补充5Why分析到第五层。"
RELEASE_REASON = "全检合格后放行。"
EFFECTIVE_REVIEW = "有效性验证：90天内未再发生。"

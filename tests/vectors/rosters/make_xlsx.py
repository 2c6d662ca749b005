"""Write xinzhou-objects.xlsx: the entities of xinzhou-objects.csv as a provincial platform's XLSX export.

Run from the repository root: ``.venv/bin/python tests/vectors/rosters/make_xlsx.py``. The workbook
differs from the CSV the way real exports do: the credit-risk class is written with the national
labels (信用风险低 ... 信用风险高), dates are date cells, 序号 and 注册资本(万元) are number cells, the
legacy 注册号 is a text cell, and there is a second worksheet (which is not read).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
HEADER = (
    "序号", "统一社会信用代码", "企业名称", "注册资本(万元)", "法定代表人", "联系电话",
    "属地监管所", "信用风险分类", "专项库", "上次检查日期",
)
D = datetime.datetime
ROWS = (
    (1, "91140902MA0GR7K21P", "忻州市晋丰食品有限公司", 500.5, "赵建华", "0350-3021234",
     "忻府区局城区所", "信用风险一般", "食品生产许可", D(2024, 5, 17)),
    (2, "92140902MA0H3B5N9P", "忻府区好味来餐饮店", 3.0, "李秀英", "13800000001",
     "忻府区局城区所", "信用风险低", None, None),
    (3, "91140981MA0JT8Q18A", "原平市宏达建材有限公司", 1200, "王志刚", "0350-8012345",
     "原平市局崞阳所", "信用风险较高", "工业产品生产许可", D(2023, 9, 8)),
    (4, "91140921MA0K2D6W1A", "定襄县法兰锻造有限公司", 3000, "张伟", "13800000002",
     "定襄县局晋昌所", "信用风险高", None, D(2023, 11, 2)),
    (5, "93140922MA0L9F4CXL", "五台县台山杂粮种植农民专业合作社", 50, "刘桂兰", "13800000003",
     "五台县局台城所", "信用风险一般", "农资经营", None),
    (6, "91140902MA0M1X3P64", "忻州市康宁大药房有限公司", 100, "陈晓东", "0350-3035678",
     "忻府区局长征街所", "信用风险较高", "药品经营许可、第二类医疗器械经营备案", D(2024, 10, 9)),
    (7, "140902000012349", "忻府区老城百货商店", 5, "孙玉梅", None,
     "忻府区局长征街所", "信用风险低", None, D(2022, 6, 30)),
)


def main() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "检查对象名录"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    for cell in sheet["J"][1:]:
        cell.number_format = "yyyy-mm-dd"
    notes = workbook.create_sheet("说明")
    notes.append(("导出时间", D(2025, 3, 3, 9, 30)))
    workbook.properties.created = D(2025, 3, 3, 9, 30)
    workbook.properties.modified = D(2025, 3, 3, 9, 30)
    workbook.save(HERE / "xinzhou-objects.xlsx")


if __name__ == "__main__":
    main()

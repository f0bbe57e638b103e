"""The register's vocabulary: household categories and causes of poverty, as scenario files name them."""

from __future__ import annotations

from enum import IntEnum


class Category(IntEnum):
    """Register category (建档立卡 categories in 001 §一(二)) plus households off the register."""

    GENERAL = 0          # 一般贫困户
    DIBAO_LABOUR = 1     # 有劳动能力的低保贫困户
    DIBAO_NO_LABOUR = 2  # 无劳动能力的低保户
    FIVE_GUARANTEE = 3   # 五保户 / 特困供养
    NEAR_LINE = 4        # never registered, income near the line: where new poverty comes from


class Cause(IntEnum):
    """Main cause of poverty (致贫原因, 001 §二(一) 1–9)."""

    ILLNESS = 0      # 因病
    DISABILITY = 1   # 因残
    EDUCATION = 2    # 因学
    DISASTER = 3     # 因灾
    SKILLS = 4       # 缺技术
    CAPITAL = 5      # 缺资金
    LABOUR = 6       # 缺劳力
    MOTIVATION = 7   # 缺动力
    LOCATION = 8     # 一方水土养不起一方人 (relocation areas)
    NONE = 9         # not registered


# The four categories of the register, as keys of a scenario's [population.categories].
REGISTERED_CATEGORIES = ("general", "dibao_labour", "dibao_no_labour", "five_guarantee")
# Causes as keys of a scenario's [population.causes].
CAUSES = tuple(c.name.lower() for c in Cause if c is not Cause.NONE)

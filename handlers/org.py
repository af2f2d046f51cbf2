"""The vocabulary of the org: roles, departments, unit kinds."""

# Roles (角色) as the roster spells them.
GRID_WORKER = "网格员"
VILLAGE_COMMITTEE = "村两委"
VILLAGE_SECRETARY = "村书记"
VILLAGE_LEADER = "包村领导"
OFFICE = "办公室"
LIAISON = "部门联络员"
LEADER_IN_CHARGE = "分管领导"
MAIN_LEADER = "主要领导"
SPOKESPERSON = "新闻发言人"

ROLES = (GRID_WORKER, VILLAGE_COMMITTEE, VILLAGE_SECRETARY, VILLAGE_LEADER, OFFICE, LIAISON,
         LEADER_IN_CHARGE, MAIN_LEADER, SPOKESPERSON)
VILLAGE_ROLES = (GRID_WORKER, VILLAGE_COMMITTEE, VILLAGE_SECRETARY)
# Roles that see their whole township (or the whole county, for county-level people).
TOWNSHIP_WIDE = (OFFICE, LEADER_IN_CHARGE, MAIN_LEADER, SPOKESPERSON)

DEPARTMENTS = ("纪委", "政法委", "信访办", "乡村振兴办", "网信办", "党政办", "领导小组办公室")

SEVERITIES = ("一般", "较大", "紧急")
# The categories the guide names; an office's rules file may only use these (the API and ledger speak them).
CATEGORIES = ("违规违纪", "涉黑涉法", "信访诉求", "涉贫政策", "民生环境", "其他")
# Petition-type claims: intake asks whether people gather, and a meet-the-people deadline starts.
PETITION_CATEGORY = "信访诉求"
OTHER_CATEGORY = "其他"  # the office sorts it; a category question always offers it

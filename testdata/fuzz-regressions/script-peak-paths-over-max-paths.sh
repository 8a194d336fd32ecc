t3-e
[ ""onsequ|| tr t&&
chmod $moda
d $mo /b || trtque && moe=9510
chmod $d -se|| t&&
chmod $mode //d-se|| t&&
chmod $mode //dmepda
